/**
 * The core gives the event loop a turn with setImmediate where the runtime has it (Node) and with setTimeout
 * elsewhere (src/amg/crop-postprocessor.ts); with the DOM library alone its `typeof setImmediate` guard needs the
 * name declared, as possibly absent.
 */
declare var setImmediate: ((callback: () => void) => unknown) | undefined;
