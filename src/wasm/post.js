// Runs inside the emscripten module's scope (--post-js). Lets the JS layer
// unref pthread workers in Node so an idle pool never keeps the process alive.
Module['kilnUnrefWorkers'] = function () {
  if (typeof PThread === 'undefined') return;
  PThread.unusedWorkers.concat(PThread.runningWorkers).forEach(function (w) {
    if (w && typeof w.unref === 'function') w.unref();
  });
};
Module['kilnMemory'] = function () {
  return typeof wasmMemory !== 'undefined' ? wasmMemory : null;
};
