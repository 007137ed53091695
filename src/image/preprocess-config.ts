/**
 * preprocessor_config.json → PreprocessSpec. Only the two transforms the models are known to use are accepted;
 * anything else is refused with the file and field named, never guessed (model-contract.md).
 */

/** How an image becomes the encoder's `pixel_values`. */
export interface PreprocessSpec {
  /** 'longest-edge-pad': SAM 1 / HF (resize longest edge, pad); 'square': SAM 2's own stretch to size×size. */
  mode: 'longest-edge-pad' | 'square';
  /** Longest edge (longest-edge-pad) or side (square) after resizing, usually 1024. */
  size: number;
  /** Side of the padded square tensor; equals `size` in square mode. */
  padSize: number;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  doNormalize: boolean;
  doRescale: boolean;
}

/** PIL.Image.BILINEAR, the only resample filter the exact resize implements. */
const PIL_BILINEAR = 2;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Field readers that throw "<file>: field '<name>' …". */
function fields(obj: Json, file: string) {
  const fail = (name: string, problem: string): never => {
    throw new Error(`${file}: field '${name}' ${problem}`);
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const v = obj[name];
    if (v === undefined) return dflt;
    return typeof v === 'boolean' ? v : fail(name, `must be true or false, got ${JSON.stringify(v)}`);
  };
  const posInt = (name: string, v: unknown): number =>
    typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fail(name, `must be a positive integer, got ${JSON.stringify(v)}`);
  const triple = (name: string, dflt: [number, number, number], nonZero: boolean): [number, number, number] => {
    const v = obj[name];
    if (v === undefined) return dflt;
    const arr = typeof v === 'number' ? [v, v, v] : v;
    if (!Array.isArray(arr) || arr.length !== 3 || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      return fail(name, `must be a number or a list of 3 numbers, got ${JSON.stringify(v)}`);
    }
    if (nonZero && arr.some((x) => x === 0)) return fail(name, 'must not contain 0');
    return [arr[0], arr[1], arr[2]] as [number, number, number];
  };
  return { fail, bool, posInt, triple };
}

/**
 * Validate a parsed preprocessor_config.json. Accepts `size: {longest_edge}` with `do_pad: true` (SAM 1 and
 * Hugging Face SAM 2 exports) and `size: {height, width}` (square) without padding (SAM 2's own transform).
 * @param file shown in error messages.
 */
export function parsePreprocessorConfig(json: unknown, file: string): PreprocessSpec {
  if (!isObject(json)) throw new Error(`${file}: expected a JSON object`);
  const { fail, bool, posInt, triple } = fields(json, file);

  if (!bool('do_resize', true)) fail('do_resize', 'is false; the encoder needs a fixed-size input');
  const resample = json.resample ?? PIL_BILINEAR;
  if (resample !== PIL_BILINEAR && !(typeof resample === 'string' && resample.toLowerCase() === 'bilinear')) {
    fail('resample', `must be 2 (bilinear), got ${JSON.stringify(resample)}`);
  }

  const doRescale = bool('do_rescale', true);
  const rawRescale = json.rescale_factor ?? 1 / 255;
  if (typeof rawRescale !== 'number' || !(rawRescale > 0) || !Number.isFinite(rawRescale)) {
    fail('rescale_factor', `must be a positive number, got ${JSON.stringify(rawRescale)}`);
  }
  const rescale = rawRescale as number;
  const doNormalize = bool('do_normalize', true);
  const mean = triple('image_mean', [0.485, 0.456, 0.406], false);
  const std = triple('image_std', [0.229, 0.224, 0.225], true);
  const doPad = bool('do_pad', false);

  const size = json.size;
  if (!isObject(size)) return fail('size', `must be {longest_edge} or {height, width}, got ${JSON.stringify(size)}`);
  const keys = Object.keys(size).sort().join(',');
  const common = { rescale, mean, std, doNormalize, doRescale };

  if (keys === 'longest_edge') {
    const longest = posInt('size.longest_edge', size.longest_edge);
    if (!doPad) fail('do_pad', 'must be true with size.longest_edge (the encoder needs a square input)');
    let padSize = longest;
    if (json.pad_size !== undefined) {
      const pad = json.pad_size;
      if (!isObject(pad) || Object.keys(pad).sort().join(',') !== 'height,width') {
        fail('pad_size', `must be {height, width}, got ${JSON.stringify(pad)}`);
      }
      const p = pad as Json;
      const h = posInt('pad_size.height', p.height);
      const w = posInt('pad_size.width', p.width);
      if (h !== w) fail('pad_size', `must be square, got ${h}x${w}`);
      if (h < longest) fail('pad_size', `(${h}) is smaller than size.longest_edge (${longest})`);
      padSize = h;
    }
    return { mode: 'longest-edge-pad', size: longest, padSize, ...common };
  }
  if (keys === 'height,width') {
    const h = posInt('size.height', size.height);
    const w = posInt('size.width', size.width);
    if (h !== w) fail('size', `must be square, got height ${h} and width ${w}`);
    if (doPad) fail('do_pad', 'must be false with size {height, width}');
    return { mode: 'square', size: h, padSize: h, ...common };
  }
  return fail('size', `must be {longest_edge} or {height, width}, got keys {${keys}}`);
}
