/** The frontend: pattern string → AST (with spans), cached per string. */
export * from './ast.js';
export { parseNumpyEinsum, parseEinopsEinsum, parseTransform, parsePack, parseShapePattern } from './parse.js';
