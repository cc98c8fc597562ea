/**
 * A tiny static server on 127.0.0.1 for the browser suite: serves one directory, with the response headers of
 * the chosen mode (cross-origin isolated, plain, or a strict Content-Security-Policy).
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

export type Mode = 'isolated' | 'plain' | 'csp';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
};

export function headersFor(mode: Mode): Record<string, string> {
  switch (mode) {
    case 'isolated':
      return { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    case 'plain':
      return {};
    case 'csp':
      // No 'unsafe-eval' and no 'wasm-unsafe-eval': neither new Function nor WebAssembly compilation is allowed.
      return { 'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src 'self'" };
  }
}

export async function serve(root: string, mode: Mode): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/favicon.ico') {
        res.writeHead(204, headersFor(mode)).end();
        return;
      }
      const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^([/\\])+/, '');
      const file = join(root, path === '' ? 'index.html' : path);
      if (!file.startsWith(root)) {
        res.writeHead(403).end();
        return;
      }
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store', ...headersFor(mode) });
        res.end(body);
      } catch {
        res.writeHead(404, headersFor(mode)).end('not found');
      }
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    // The browser keeps its connections alive: drop them, or close() waits for them.
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    }),
  };
}
