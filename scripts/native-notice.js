// Printed by `npm install` when the native kernels could not be compiled: the package still works.
process.stderr.write(
  "attention-lab: the native kernels (C, Node-API) did not build; using the WebAssembly backend instead (about half the speed). Run `npm run build:native` to see why.\n",
);
