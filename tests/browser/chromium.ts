/**
 * Starts the system Chromium (Debian's `chromium` package) headless through playwright-core, with WebGPU on
 * SwiftShader (no GPU needed) and without any network activity of its own.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env['EINJIT_CHROMIUM'] ?? '/usr/bin/chromium';

export function chromiumPresent(): boolean {
  return existsSync(CHROMIUM);
}

export async function launch(): Promise<BrowserContext> {
  // A fresh profile each time: nothing cached, nothing synced.
  const userDataDir = mkdtempSync(join(tmpdir(), 'einjit-chromium-'));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--enable-features=Vulkan',
      '--use-vulkan=swiftshader',
      '--use-webgpu-adapter=swiftshader',
      '--use-angle=swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--no-first-run',
      '--disable-quic',
      '--disable-extensions',
    ],
  });
}
