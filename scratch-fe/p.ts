import { parsePattern } from '../grammar/index.js';
for (const [p, r] of [['a (b c) -> a', 'transform'], ['(a (b', 'transform'], ['a b) -> a', 'transform'], ['i->->i', 'numpyEinsum'], ['', 'numpyEinsum'], ['a b', 'transform']] as const) {
  const res = parsePattern(p, r);
  console.log(p, res.parseProblems.map(x => [x.token.image, x.isEof, x.ruleStack, x.message]), !!res.cst);
}
