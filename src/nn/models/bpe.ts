/**
 * The seed's tiny byte-pair tokenizer: every character of the lower-cased corpus, then the `numMerges` most
 * frequent adjacent pairs merged greedily (ties go to the pair seen first, as Python's Counter.most_common does),
 * plus an end-of-text token. The vocabulary is the sorted characters, then the merges, then `<|endoftext|>`.
 */
import * as A from '../../runtime/args.js';
import { EinjitError } from '../../errors.js';
export class SimpleBPETokenizer {
  readonly eotToken: string;
  eotId: number | null = null;
  merges: [string, string][] = [];
  private pairRanks = new Map<string, number>();
  vocab = new Map<string, number>();
  idToToken = new Map<number, string>();

  constructor(readonly numMerges = 5, eotToken = '<|endoftext|>') {
    A.intArg(numMerges, 'SimpleBPETokenizer', 'numMerges', 0, 1_000_000);
    A.stringArg(eotToken, 'SimpleBPETokenizer', 'eotToken');
    this.eotToken = eotToken;
  }

  private addToken(tok: string): number {
    const have = this.vocab.get(tok);
    if (have !== undefined) return have;
    const i = this.vocab.size;
    this.vocab.set(tok, i);
    this.idToToken.set(i, tok);
    return i;
  }

  private static mergeOnce(seq: readonly string[], a: string, b: string): string[] {
    const out: string[] = [];
    let i = 0;
    while (i < seq.length) {
      if (i < seq.length - 1 && seq[i] === a && seq[i + 1] === b) {
        out.push(a + b);
        i += 2;
      } else {
        out.push(seq[i]!);
        i += 1;
      }
    }
    return out;
  }

  train(corpus: readonly string[]): void {
    if (!Array.isArray(corpus)) A.stringArg(corpus, 'SimpleBPETokenizer.train', 'corpus (an array of strings)');
    corpus.forEach((c, i) => A.stringArg(c, 'SimpleBPETokenizer.train', `corpus[${i}]`));
    const text = corpus.join('').toLowerCase();
    let seq = [...text];
    const merges: [string, string][] = [];
    for (let m = 0; m < this.numMerges; m++) {
      // Counts in first-seen order, so the maximum with the earliest first occurrence wins ties.
      const counts = new Map<string, { pair: [string, string]; n: number }>();
      for (let i = 0; i < seq.length - 1; i++) {
        const key = `${seq[i]}\u0000${seq[i + 1]}`;
        const c = counts.get(key);
        if (c === undefined) counts.set(key, { pair: [seq[i]!, seq[i + 1]!], n: 1 });
        else c.n++;
      }
      if (counts.size === 0) break;
      let best: { pair: [string, string]; n: number } | null = null;
      for (const c of counts.values()) if (best === null || c.n > best.n) best = c;
      merges.push(best!.pair);
      seq = SimpleBPETokenizer.mergeOnce(seq, best!.pair[0], best!.pair[1]);
    }
    this.merges = merges;
    this.pairRanks = new Map(merges.map(([a, b], i) => [`${a}\u0000${b}`, i]));
    this.vocab = new Map();
    this.idToToken = new Map();
    // Python sorts strings by code point; JS's default sort compares UTF-16 units, the same for the BMP.
    for (const ch of [...new Set(text)].sort()) this.addToken(ch);
    for (const [a, b] of merges) this.addToken(a + b);
    this.eotId = this.addToken(this.eotToken);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  encode(input: string, forceLastEot = true): number[] {
    A.stringArg(input, 'SimpleBPETokenizer.encode', 'input');
    A.boolArg(forceLastEot, 'SimpleBPETokenizer.encode', 'forceLastEot', true);
    const text = input.split(this.eotToken).join('');
    let seq = [...text];
    for (const ch of new Set(seq)) this.addToken(ch);
    if (this.merges.length > 0) {
      for (;;) {
        let bestPair: [string, string] | null = null;
        let bestRank = Infinity;
        for (let i = 0; i < seq.length - 1; i++) {
          const r = this.pairRanks.get(`${seq[i]}\u0000${seq[i + 1]}`);
          if (r !== undefined && r < bestRank) {
            bestRank = r;
            bestPair = [seq[i]!, seq[i + 1]!];
          }
        }
        if (bestPair === null) break;
        seq = SimpleBPETokenizer.mergeOnce(seq, bestPair[0], bestPair[1]);
      }
    }
    for (const tok of seq) this.addToken(tok);
    const ids = seq.map((tok) => this.vocab.get(tok)!);
    if (forceLastEot && this.eotId !== null && (ids.length === 0 || ids[ids.length - 1] !== this.eotId)) ids.push(this.eotId);
    return ids;
  }

  decode(input: readonly number[]): string {
    A.intListArg(input, 'SimpleBPETokenizer.decode', 'input');
    let ids = input;
    if (ids.length > 0 && this.eotId !== null && ids[ids.length - 1] === this.eotId) ids = ids.slice(0, -1);
    return ids.map((i) => this.idToToken.get(i) ?? '').join('');
  }
}

/** The two paragraphs the seed trains on (from the linear algebra and LU decomposition articles). */
export const SEED_TEXTS: readonly string[] = [
  'Linear algebra is central to almost all areas of mathematics. For instance, linear algebra is fundamental in modern presentations of geometry, including for defining basic objects such as lines, planes and rotations. Also, functional analysis, a branch of mathematical analysis, may be viewed as the application of linear algebra to function spaces.',
  'In numerical analysis and linear algebra, lower–upper (LU) decomposition or factorization factors a matrix as the product of a lower triangular matrix and an upper triangular matrix (see matrix multiplication and matrix decomposition).',
];

/** The seed's token stream: for each text, the end-of-text id then the text's (lower-cased) encoding. */
export function seedTokens(tok: SimpleBPETokenizer, texts: readonly string[] = SEED_TEXTS): number[] {
  if (!(tok instanceof SimpleBPETokenizer)) throw new EinjitError(`expected a SimpleBPETokenizer, got ${A.describe(tok)}`, { op: 'seedTokens' });
  if (!Array.isArray(texts)) A.stringArg(texts, 'seedTokens', 'texts (an array of strings)');
  texts.forEach((c, i) => A.stringArg(c, 'seedTokens', `texts[${i}]`));
  const out: number[] = [];
  for (const t of texts) {
    out.push(tok.eotId!);
    out.push(...tok.encode(t.toLowerCase()));
  }
  return out;
}
