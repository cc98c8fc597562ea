import { tokenize } from '../grammar/tokens.js';
for (const p of ['a b -> (c d)', 'ij,jk->ik', 'α\tβ', '. ..', 'a-b', '😀 x', 'a…']) console.log(JSON.stringify(p), JSON.stringify(tokenize(p).tokens.map(t=>[t.tokenType.name,t.image,t.startOffset])), tokenize(p).problems, tokenize(p).otherSpace.length);
