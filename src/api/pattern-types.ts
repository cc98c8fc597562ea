/**
 * Einsum patterns parsed by the type checker.
 *
 * For a literal numpy-style pattern, `einsum('bij,bjk->bik', a)` is a compile-time error (two operands
 * declared, one given), and the result's rank is known: `Tensor<3>` here. With '...' the rank also depends on
 * the operands; it is computed when the operand carrying the ellipsis has a known rank, else it is `number`.
 * A pattern the type-level reader does not understand (or a `string` variable) falls back to the untyped
 * signature, and the runtime checks it as usual.
 */
import type { NestedArray, Tensor } from '../runtime/tensor.js';

/** Options accepted after the operands (mirrors EinsumOptions without importing it, to avoid a cycle). */
export interface TypedEinsumOptions {
  readonly optimize?: string | readonly (readonly number[])[] | readonly ['einsum_path', ...(readonly number[])[]]
    | { readonly tree: number | readonly unknown[] } | { readonly ssaPath: readonly (readonly number[])[] }
    | { readonly path: readonly (readonly number[])[] };
  readonly memoryLimit?: 'max_input' | number;
  readonly minimize?: 'flops' | 'size' | 'write' | 'combo';
  readonly seed?: number;
  readonly trials?: number;
  readonly timeBudgetMs?: number;
}

type Letter =
  | 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i' | 'j' | 'k' | 'l' | 'm' | 'n' | 'o' | 'p' | 'q' | 'r' | 's'
  | 't' | 'u' | 'v' | 'w' | 'x' | 'y' | 'z'
  | 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M' | 'N' | 'O' | 'P' | 'Q' | 'R' | 'S'
  | 'T' | 'U' | 'V' | 'W' | 'X' | 'Y' | 'Z';

/** Removes spaces. */
type Strip<S extends string> = S extends `${infer A} ${infer B}` ? Strip<`${A}${B}`> : S;

/** Splits on a separator. */
type Split<S extends string, Sep extends string> = S extends `${infer A}${Sep}${infer B}` ? [A, ...Split<B, Sep>] : [S];

/** The letters of one term as a tuple, with '...' kept as one item; never when something else appears. */
type Items<S extends string> =
  S extends '' ? [] :
  S extends `...${infer Rest}` ? ['...', ...Items<Rest>] :
  S extends `${infer C}${infer Rest}` ? (C extends Letter ? [C, ...Items<Rest>] : never) : never;

/** A term is valid when it reads as letters with at most one '...'. */
type ValidTerm<S extends string> = Items<S> extends never ? false : CountOf<Items<S>, '...'> extends 0 | 1 ? true : false;

type CountOf<T extends readonly unknown[], X, Acc extends unknown[] = []> =
  T extends readonly [infer H, ...infer R] ? CountOf<R, X, H extends X ? [...Acc, 1] : Acc> : Acc['length'];

type AllValid<T extends readonly string[]> = T extends readonly [infer H extends string, ...infer R extends string[]]
  ? (ValidTerm<H> extends true ? AllValid<R> : false) : true;

/** [inputs, output | null] of a stripped pattern, or never when it does not parse. */
type Parse<P extends string> =
  Strip<P> extends `${infer L}->${infer R}`
    ? (R extends `${string}->${string}` ? never : [Split<L, ','>, R])
    : [Split<Strip<P>, ','>, null];

/** The operand terms of a pattern, or never. */
export type PatternInputs<P extends string> = Parse<P> extends [infer I extends string[], infer O]
  ? (AllValid<I> extends true ? (O extends string ? (ValidTerm<O> extends true ? I : never) : I) : never)
  : never;

/** Nested arrays exactly R levels deep (R = 0: a number or boolean). */
type NestedOfRank<R extends number, Depth extends unknown[] = []> =
  Depth['length'] extends R ? number | boolean : readonly NestedOfRank<R, [...Depth, 0]>[];

/** What one term takes: a tensor, or numbers nested as deep as the term has letters (any depth with '...'). */
type OperandOf<S> = S extends string
  ? Tensor | (CountOf<Items<S>, '...'> extends 0 ? NestedOfRank<Items<S>['length']> : NestedArray)
  : never;

/** One operand per term. */
type Operands<T extends readonly string[]> = { [K in keyof T]: OperandOf<T[K]> };

/** True when `P` is a literal pattern the type-level reader understands. */
export type IsTypedPattern<P extends string> = string extends P ? false : [PatternInputs<P>] extends [never] ? false : true;

/** The rest parameters einsum takes after a literal pattern: exactly one tensor per term, then options. */
export type EinsumOperands<P extends string> = IsTypedPattern<P> extends true
  ? [...Operands<PatternInputs<P>>] | [...Operands<PatternInputs<P>>, TypedEinsumOptions]
    | [readonly [...Operands<PatternInputs<P>>]] | [readonly [...Operands<PatternInputs<P>>], TypedEinsumOptions]
  : (Tensor | NestedArray | readonly Tensor[] | TypedEinsumOptions)[];

// ── Result rank ────────────────────────────────────────────────────────────────────────────────────────────

type Flatten<T extends readonly string[]> = T extends readonly [infer H extends string, ...infer R extends string[]]
  ? [...Items<H>, ...Flatten<R>] : [];

/** Letters occurring exactly once over all inputs (numpy's implicit output, order irrelevant for the rank). */
type OnceLetters<All extends readonly unknown[], Rest extends readonly unknown[] = All, Acc extends unknown[] = []> =
  Rest extends readonly [infer H, ...infer R]
    ? OnceLetters<All, R, H extends '...' ? Acc : CountOf<All, H> extends 1 ? [...Acc, H] : Acc>
    : Acc['length'];

type RankOf<X> = X extends Tensor<infer R> ? R : number;

/** The operand list when it was passed as one array (torch.einsum's list form). */
type Unwrap<Ops extends readonly unknown[]> = Ops extends readonly [infer L extends readonly unknown[], ...unknown[]] ? L : Ops;

/** Rank covered by '...' as told by the operands: the first operand with '...' and a known rank decides. */
type EllipsisRank<Terms extends readonly string[], Ops extends readonly unknown[]> =
  Terms extends readonly [infer T extends string, ...infer TR extends string[]]
    ? Ops extends readonly [infer O, ...infer OR]
      ? CountOf<Items<T>, '...'> extends 1
        ? (number extends RankOf<O> ? number : Subtract<RankOf<O>, LettersIn<T>>)
        : EllipsisRank<TR, OR>
      : number
    : 0;

type LettersIn<T extends string> = CountOf<Items<T>, Letter>;
type HasEllipsis<Terms extends readonly string[]> = CountOf<Flatten<Terms>, '...'> extends 0 ? false : true;

type Tuple<N extends number, Acc extends unknown[] = []> = Acc['length'] extends N ? Acc : Tuple<N, [...Acc, 1]>;
type Subtract<A extends number, B extends number> =
  number extends A ? number : Tuple<A> extends [...Tuple<B>, ...infer R] ? R['length'] : number;
type Add<A extends number, B extends number> = number extends A | B ? number : [...Tuple<A>, ...Tuple<B>]['length'] & number;

/** The rank of einsum's result for a literal pattern and the operands' types. */
export type EinsumResultRank<P extends string, Ops extends readonly unknown[]> =
  IsTypedPattern<P> extends false ? number :
  Parse<P> extends [infer I extends string[], infer O]
    ? O extends string
      ? (CountOf<Items<O>, '...'> extends 1 ? Add<LettersIn<O>, EllipsisRank<I, Unwrap<Ops>>> : LettersIn<O>)
      : (HasEllipsis<I> extends true ? Add<OnceLetters<Flatten<I>>, EllipsisRank<I, Unwrap<Ops>>> : OnceLetters<Flatten<I>>)
    : number;

// ── Problems reported as one line ──────────────────────────────────────────────────────────────────────────
// A literal pattern that einsum would refuse makes the pattern parameter's type a sentence (a string literal
// type), so the compiler's message is "Argument of type '"bij,bjk->bik"' is not assignable to parameter of
// type '"pattern declares 2 operands, 1 given"'" instead of a list of overloads.

/** The operands as counted against the pattern: trailing options dropped, the list form opened. */
type CountedOperands<Ops extends readonly unknown[]> =
  DropOptions<Ops> extends readonly [infer L extends readonly unknown[]] ? L : DropOptions<Ops>;
type DropOptions<Ops extends readonly unknown[]> = Ops extends readonly [...infer I, infer L]
  ? (L extends Tensor ? Ops : L extends readonly unknown[] ? Ops : L extends object ? I : Ops) : Ops;

type Plural<N extends number> = N extends 1 ? 'operand' : 'operands';

/** Space-separated words of a term, empty ones dropped. */
type Words<S extends string> = S extends `${infer A} ${infer B}` ? [...(A extends '' ? [] : [A]), ...Words<B>] : S extends '' ? [] : [S];

/** The first word longer than one character (not '...') of a term written as several words, else never. */
type NamedAxis<W extends readonly string[], All extends readonly string[] = W> = All['length'] extends 0 | 1 ? never
  : W extends readonly [infer H extends string, ...infer R extends string[]]
    ? (H extends '...' ? NamedAxis<R, All> : H extends `${string}${infer Rest}` ? (Rest extends '' ? NamedAxis<R, All> : H) : NamedAxis<R, All>)
    : never;

type Terms<P extends string> = Split<P extends `${infer A}->${infer B}` ? `${A},${B}` : P, ','>;
type NamedAxisIn<T extends readonly string[]> = T extends readonly [infer H extends string, ...infer R extends string[]]
  ? ([NamedAxis<Words<H>>] extends [never] ? NamedAxisIn<R> : NamedAxis<Words<H>>) : never;

/** Why einsum refuses a literal pattern with these operands, as one sentence; never when it does not. */
export type PatternProblem<P extends string, Ops extends readonly unknown[]> =
  IsTypedPattern<P> extends false ? never :
  [NamedAxisIn<Terms<P>>] extends [never]
    ? (PatternInputs<P>['length'] extends CountedOperands<Ops>['length'] ? never
      : `pattern declares ${PatternInputs<P>['length']} ${Plural<PatternInputs<P>['length']>}, ${CountedOperands<Ops>['length']} given`)
    : `named axis '${NamedAxisIn<Terms<P>>}' in a pattern given first: named axes take the operands first, einsum(a, b, '${P}')`;

/** The pattern parameter: the pattern itself, or the sentence saying what is wrong with it. */
export type CheckedPattern<P extends string, Ops extends readonly unknown[]> = [PatternProblem<P, Ops>] extends [never] ? P : PatternProblem<P, Ops>;

/** The operands parameter: as given when they fit the pattern or the pattern already carries the error. */
export type CheckedOperands<P extends string, Ops extends readonly unknown[]> =
  Ops extends EinsumOperands<P> ? Ops : [PatternProblem<P, Ops>] extends [never] ? EinsumOperands<P> : Ops;
