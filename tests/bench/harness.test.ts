/**
 * The benchmark harness's pure helpers: statistics, work counts, number formatting, the results table and the
 * command line. Nothing here times anything.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bytesMoved, einsumFlops, formatMs, formatRate, formatRatio, gemmFlops, measure, median, parseBenchArgs, peerCell,
  ratePerSecond, renderTable, resultNotes, resultsTable, speedup, speedupCell, timingOf, type Timing, type WorkloadResult,
} from '../../bench/harness.js';

const timing = (ms: number): Timing => ({ samples: [ms], medianMs: ms, minMs: ms });

describe('median', () => {
  it('takes the middle of an odd count and the mean of the two middles of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('is NaN for no samples and does not reorder its input', () => {
    expect(median([])).toBeNaN();
    const xs = [5, 1, 4];
    median(xs);
    expect(xs).toEqual([5, 1, 4]);
  });

  it('lies between the minimum and the maximum', () => {
    fc.assert(fc.property(fc.array(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), { minLength: 1 }), (xs) => {
      const m = median(xs);
      return m >= Math.min(...xs) && m <= Math.max(...xs);
    }));
  });

  it('timingOf reports the median and the minimum of the samples', () => {
    expect(timingOf([3, 1, 2, 10])).toEqual({ samples: [3, 1, 2, 10], medianMs: 2.5, minMs: 1 });
  });
});

describe('measure', () => {
  it('does the warm-up runs and at least minReps timed runs, and stops at maxReps', () => {
    let calls = 0;
    const t = measure(() => { calls++; }, { warmup: 2, minTimeMs: 1e9, maxReps: 4, minReps: 1 });
    expect(t.samples).toHaveLength(4);
    expect(calls).toBe(6);
    const once = measure(() => { calls++; }, { warmup: 0, minTimeMs: 0, maxReps: 1, minReps: 1 });
    expect(once.samples).toHaveLength(1);
  });
});

describe('work counts', () => {
  it('counts 2·batch·m·n·k for a matrix product', () => {
    expect(gemmFlops(2, 3, 4)).toBe(48);
    expect(gemmFlops(128, 128, 128, 16)).toBe(2 * 16 * 128 ** 3);
  });

  it('gives the GEMM count for the benchmark\'s two-operand einsums', () => {
    expect(einsumFlops('ij,jk->ik', [[256, 256], [256, 256]])).toBe(gemmFlops(256, 256, 256));
    expect(einsumFlops('ij,jk->ik', [[2, 3], [3, 4]])).toBe(48);
    expect(einsumFlops('bij,bjk->bik', [[16, 128, 128], [16, 128, 128]])).toBe(gemmFlops(128, 128, 128, 16));
    expect(einsumFlops('bhqd,bhkd->bhqk', [[4, 8, 128, 64], [4, 8, 128, 64]])).toBe(gemmFlops(128, 128, 64, 32));
    expect(einsumFlops('oc,bcl->bol', [[64, 576], [8, 576, 1024]])).toBe(gemmFlops(64, 1024, 576, 8));
  });

  it('adds the pairwise steps of a chain, left to right', () => {
    expect(einsumFlops('ij,jk,kl->il', [[256, 256], [256, 256], [256, 256]])).toBe(2 * gemmFlops(256, 256, 256));
    // (2×3)(3×4) first: 48 flops, then (2×4)(4×5): 80 flops.
    expect(einsumFlops('ij,jk,kl->il', [[2, 3], [3, 4], [4, 5]])).toBe(48 + 80);
  });

  it('counts one flop per term when nothing is summed, and none for pure data movement', () => {
    expect(einsumFlops('i,j->ij', [[3], [4]])).toBe(12);
    expect(einsumFlops('ii->i', [[5, 5]])).toBe(0);
    expect(einsumFlops('bchw->bhwc', [[2, 3, 4, 5]])).toBe(0);
    expect(einsumFlops('ij->i', [[3, 4]])).toBe(12);
  });

  it('rejects a pattern without an output or with mismatched shapes', () => {
    expect(() => einsumFlops('ij,jk', [[2, 3], [3, 4]])).toThrow(/explicit output/);
    expect(() => einsumFlops('ij,jk->ik', [[2, 3]])).toThrow(/2 operands/);
    expect(() => einsumFlops('ij->i', [[2, 3, 4]])).toThrow(/rank/);
  });

  it('counts bytes read plus bytes written', () => {
    expect(bytesMoved(10, 10)).toBe(80);
    expect(bytesMoved(10, 5, 8)).toBe(120);
  });

  it('turns work and milliseconds into units of 1e9 per second', () => {
    expect(ratePerSecond(2e9, 1000)).toBeCloseTo(2);
    expect(ratePerSecond(gemmFlops(1024, 1024, 1024), 50)).toBeCloseTo(42.95, 1);
    expect(speedup(10, 250)).toBe(25);
  });
});

describe('formatting', () => {
  it('prints milliseconds with about three significant digits', () => {
    expect(formatMs(12345.6)).toBe('12346');
    expect(formatMs(123.4)).toBe('123');
    expect(formatMs(12.345)).toBe('12.3');
    expect(formatMs(1.2345)).toBe('1.23');
    expect(formatMs(0.12345)).toBe('0.123');
    expect(formatMs(0.012345)).toBe('0.012');
    expect(formatMs(Number.NaN)).toBe('—');
  });

  it('prints rates and ratios', () => {
    expect(formatRate(123.4)).toBe('123');
    expect(formatRate(42.95)).toBe('43.0');
    expect(formatRate(0.4)).toBe('0.40');
    expect(formatRatio(123.4)).toBe('123×');
    expect(formatRatio(12.34)).toBe('12.3×');
    expect(formatRatio(1.234)).toBe('1.23×');
    expect(formatRatio(0.0123)).toBe('0.012×');
    expect(formatRatio(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('renderTable', () => {
  it('pads every column to its widest cell, left-aligns the first and right-aligns the rest', () => {
    const text = renderTable(['name', 'ms'], [['a', '1.5'], ['longer', '12']]);
    expect(text.split('\n')).toEqual([
      '| name   |  ms |',
      '|:-------|----:|',
      '| a      | 1.5 |',
      '| longer |  12 |',
    ]);
  });

  it('honours explicit alignment, escapes pipes and counts wide characters once', () => {
    const text = renderTable(['x', 'y'], [['a|b', '×2']], ['right', 'left']);
    expect(text.split('\n')).toEqual([
      '|    x | y   |',
      '|-----:|:----|',
      '| a\\|b | ×2  |',
    ]);
  });

  it('rejects a row with the wrong number of cells', () => {
    expect(() => renderTable(['a', 'b'], [['1']])).toThrow(/1 cells/);
  });
});

describe('resultsTable', () => {
  const results: WorkloadResult[] = [
    {
      name: 'GEMM 2³',
      einjit: timing(2),
      work: { amount: 4e9, unit: 'GFLOP/s' },
      peers: {
        slow: { status: 'timed', timing: timing(20) },
        odd: { status: 'rejected', note: 'three operands' },
      },
    },
    {
      name: 'copy',
      einjit: timing(4),
      work: { amount: 8e9, unit: 'GB/s' },
      peers: { slow: { status: 'timed', timing: timing(2), note: 'one cold run' } },
    },
  ];

  it('shows einjit ms, its rate, each peer ms and each speed-up', () => {
    const lines = resultsTable(results, ['slow', 'odd']).split('\n');
    expect(lines[0]).toBe('| workload | einjit ms | GFLOP/s (GB/s) | slow ms |   odd ms | × slow | × odd |');
    expect(lines[2]).toBe('| GEMM 2³  |      2.00 |           2000 |    20.0 | rejected |  10.0× |     — |');
    expect(lines[3]).toBe('| copy     |      4.00 |    (2000 GB/s) |    2.00 |        — |  0.50× |     — |');
  });

  it('collects the notes of every peer outcome', () => {
    expect(resultNotes(results, ['slow', 'odd'])).toEqual(['GEMM 2³, odd: three operands', 'copy, slow: one cold run']);
  });

  it('peerCell and speedupCell show a reason or a dash when there is no time', () => {
    expect(peerCell(undefined)).toBe('—');
    expect(peerCell({ status: 'skipped', note: 'too big' })).toBe('skipped');
    expect(speedupCell(timing(1), { status: 'skipped', note: 'too big' })).toBe('—');
    expect(speedupCell(timing(1), { status: 'timed', timing: timing(3) })).toBe('3.00×');
  });
});

describe('parseBenchArgs', () => {
  it('reads the flags and their values', () => {
    expect(parseBenchArgs([])).toEqual({ quick: false, full: false, gpu: false, numpy: true, help: false });
    expect(parseBenchArgs(['--quick', '--gpu', '--no-numpy', '--filter', 'gemm', '--json=out.json'])).toEqual({
      quick: true, full: false, gpu: true, numpy: false, help: false, filter: 'gemm', json: 'out.json',
    });
  });

  it('rejects unknown flags and a missing value', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown option '--fast'/);
    expect(() => parseBenchArgs(['--filter'])).toThrow(/needs a value/);
    expect(() => parseBenchArgs(['--json', '--quick'])).toThrow(/needs a value/);
  });
});
