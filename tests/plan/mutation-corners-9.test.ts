/**
 * Planner corners found by mutation testing (seed 20261220's sample of src/plan): the refusal of an `optimize`
 * that is neither a name nor a path names what it got.
 */
import { describe, expect, it } from 'vitest';
import { einsumPath } from '../../src/index.js';
import { explicitPath } from '../../src/plan/interop.js';
import { thrown } from '../helpers/thrown.js';

describe('plan corners (mutation sample 20261220)', () => {
  it('an optimize that is neither a name nor a path is refused, naming its type', () => {
    const shapes = [[2, 3], [3, 4], [4, 5]];
    for (const [optimize, got] of [[5, 'number'], [{}, 'object'], [true, 'boolean']] as const) {
      const e = thrown(() => einsumPath('ab,bc,cd->ad', shapes, { optimize: optimize as never }));
      expect(e.op).toBe('einsumPath');
      expect(e.reason).toBe(`optimize must be an algorithm name or a path, got ${got}`);
    }
    // null never reaches it through the API (it means the default there); called directly, it is named too.
    expect(thrown(() => explicitPath(null, 3)).reason).toBe('optimize must be an algorithm name or a path, got null');
  });
});
