/**
 * float16 on a device without 'shader-f16' is stored as f32: every one of the 65,536 bit patterns widens to its
 * exact value, and f32 values narrow back to the nearest float16 (ties to even). The expected values come from
 * the IEEE 754 binary16 formula (setup.ts's halfValue), not from the codec under test.
 */
import { describe, expect, it } from 'vitest';
import { fromDeviceBytes, toDeviceBytes } from '../../kernels/wgsl/dtypes.js';
import { halfValue } from './setup.js';

const allBits = Uint16Array.from({ length: 65536 }, (_, i) => i);

describe('float16 stored as f32', () => {
  it('widens every bit pattern to its exact value', () => {
    const wide = toDeviceBytes('float16', allBits, false) as Float32Array;
    for (let h = 0; h < 65536; h++) {
      const want = halfValue(h);
      if (Number.isNaN(want)) expect(Number.isNaN(wide[h]!)).toBe(true);
      else expect(Object.is(wide[h], want), `bits ${h.toString(16)}`).toBe(true);
    }
  });

  it('narrows every non-NaN float16 value back to its own bits', () => {
    const wide = Float32Array.from(allBits, halfValue);
    const back = fromDeviceBytes('float16', wide.buffer, wide.length, false) as Uint16Array;
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(halfValue(h))) expect(Number.isNaN(halfValue(back[h]!))).toBe(true);
      else expect(back[h], `bits ${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds f32 values between two float16 values to the nearer, ties to the even one', () => {
    const cases: [number, number][] = [];
    for (let h = 0x0001; h < 0x7bff; h += 97) {
      const lo = halfValue(h);
      const hi = halfValue(h + 1);
      const mid = (lo + hi) / 2;
      cases.push([lo + (hi - lo) * 0.25, h], [lo + (hi - lo) * 0.75, h + 1], [mid, h % 2 === 0 ? h : h + 1]);
    }
    cases.push([65520, 0x7c00], [-65520, 0xfc00], [2 ** -25, 0], [-(2 ** -25), 0x8000], [2 ** -25 * 1.5, 1]);
    const wide = Float32Array.from(cases, ([x]) => x);
    const back = fromDeviceBytes('float16', wide.buffer, wide.length, false) as Uint16Array;
    cases.forEach(([x, want], i) => expect(back[i], `${x}`).toBe(want));
  });
});
