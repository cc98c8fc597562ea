/**
 * The main job (`npm start`): the runtime tour.
 */
import { tour } from './tour.js';
import { shutdown } from '../src/index.js';

await tour();
await shutdown();
