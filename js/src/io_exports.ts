// kiln.io: TF.js's tf.io helpers for handing models to and from memory and files.
export { fromMemory, withSaveHandler, browserFiles } from './io.js';
