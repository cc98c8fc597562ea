import { tokenize, patternParser } from '../grammar/index.js';
function time(name: string, f: (i: number) => void, n = 20000) {
  const t = performance.now();
  for (let i = 0; i < n; i++) f(i);
  console.log(name, ((performance.now() - t) / n * 1000).toFixed(2), 'µs');
}
time('lex', (i) => tokenize('a b c' + (i%100) + ' -> c a'));
const toks = tokenize('a b c -> c a').tokens;
time('parse', () => { patternParser.input = toks; patternParser.transform(); });
const bad = tokenize('(a (b').tokens;
time('parse bad', () => { patternParser.input = bad; patternParser.transform(); });
time('err', (i) => { try { throw new Error('x' + i); } catch {} });
Error.stackTraceLimit = 10;
time('err10', (i) => { try { throw new Error('x' + i); } catch {} });
