/** The frontend: pattern string → AST (with spans), cached per string. */
export * from './ast.js';
export { parseNumpyEinsum, parseEinopsEinsum, parseTransform, parsePack, parseShapePattern, parseCount, clearAstCache } from './parse.js';
export { axisNameProblem } from './visitor.js';
