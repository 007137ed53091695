/**
 * The AMG page (index.html + app.js): choose a model folder URL and an image (file picker or drag and drop), run
 * automatic mask generation with onnxruntime-web, watch the progress over prompt batches, hover the masks, download
 * the COCO JSON; or drag a box over the image to get that box's mask (box prompts: BoxSegmenter, the image encoded
 * once for every box drawn on it). Served by `npm run web` (scripts/web-server.ts) or any static server; threads need the page to be
 * cross-origin isolated (COOP/COEP headers).
 */
import {
  BoxSegmenter,
  MaskGenerator,
  OPTION_BOUNDS,
  type AmgOptions,
  type BoxXYWH,
  type EncodedCrop,
  type GenerateProgress,
  type MaskRecord,
} from '../../src/core/index.js';
import { el, setChildren } from '../shared/dom.js';
import { count } from '../shared/format.js';
import { downloadName, pageCoco, type PageResult } from './coco.js';
import { decodeImageBlob, type DecodedImage } from './decode.js';
import { configureWasm, loadPageModel, webgpuAvailable, type Backend, type PageModel } from './engine.js';
import type { HookRequest, HookResult } from './hook.js';
import { MaskView, type BoxResult } from './view.js';
import { errorMessage } from '../../src/base/errors.js';

type BoundKey = keyof typeof OPTION_BOUNDS;

/** The numeric options the page offers, in the CLI's order, with their labels. */
const NUMERIC_OPTIONS: readonly [BoundKey, string][] = [
  ['pointsPerSide', 'points per side'],
  ['pointsPerBatch', 'points per batch'],
  ['predIouThresh', 'pred IoU thresh'],
  ['stabilityScoreThresh', 'stability thresh'],
  ['stabilityScoreOffset', 'stability offset'],
  ['maskThreshold', 'mask threshold'],
  ['boxNmsThresh', 'box NMS thresh'],
  ['cropNLayers', 'crop layers'],
  ['cropNmsThresh', 'crop NMS thresh'],
  ['cropOverlapRatio', 'crop overlap ratio'],
  ['cropNPointsDownscaleFactor', 'crop points downscale'],
  ['minMaskRegionArea', 'min mask region area'],
];

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`the page has no #${id}`);
  return e;
}

const form = byId('run-form', HTMLFormElement);
const modelUrl = byId('model-url', HTMLInputElement);
const modelList = byId('model-list', HTMLDataListElement);
const backendSelect = byId('backend', HTMLSelectElement);
const fileInput = byId('image-file', HTMLInputElement);
const runButton = byId('run', HTMLButtonElement);
const downloadButton = byId('download', HTMLButtonElement);
const engineText = byId('engine', HTMLSpanElement);
const optionsBox = byId('options', HTMLDivElement);
const singleMask = byId('opt-single-mask', HTMLInputElement);
const useM2m = byId('opt-use-m2m', HTMLInputElement);
const modelLabel = byId('model-label', HTMLInputElement);
const noDate = byId('no-date', HTMLInputElement);
const progress = byId('progress', HTMLProgressElement);
const status = byId('status', HTMLSpanElement);
const view = new MaskView();
byId('view', HTMLDivElement).append(view.root);

const optionInputs = new Map<BoundKey, HTMLInputElement>();
for (const [key, label] of NUMERIC_OPTIONS) {
  const b = OPTION_BOUNDS[key];
  const input = el('input', { id: `opt-${key}`, type: 'number', min: b.min, max: b.max, step: b.integer ? 1 : 'any', placeholder: 'default' });
  optionInputs.set(key, input);
  optionsBox.append(el('label', { title: key }, `${label} `, input));
}

/** The page's state between runs. */
let model: PageModel | undefined;
let image: { name: string; decoded: DecodedImage } | undefined;
let coco: { name: string; text: string } | undefined;
let busy = false;
/** Box prompts on the current image: its encoding (made once, for the model it was made with) and the masks so far. */
let boxes: { image: NonNullable<typeof image>; model: PageModel; seg: BoxSegmenter; crop: EncodedCrop; results: BoxResult[] } | undefined;

/** The options as the form gives them; empty fields take the family's defaults. */
function formOptions(): Partial<AmgOptions> {
  const o: Partial<Record<BoundKey, number>> = {};
  for (const [key, input] of optionInputs) if (input.value.trim() !== '') o[key] = Number(input.value);
  return { ...o, ...(singleMask.checked ? { multimaskOutput: false } : {}), ...(useM2m.checked ? { useM2m: true } : {}) };
}

/** Writes `options` into the form (every other field cleared); throws on an option the page does not offer. */
function setFormOptions(options: Partial<AmgOptions>): void {
  for (const input of optionInputs.values()) input.value = '';
  singleMask.checked = false;
  useM2m.checked = false;
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const input = optionInputs.get(key as BoundKey);
    if (input !== undefined && typeof value === 'number') input.value = String(value);
    else if (key === 'multimaskOutput' && typeof value === 'boolean') singleMask.checked = !value;
    else if (key === 'useM2m' && typeof value === 'boolean') useM2m.checked = value;
    else throw new Error(`the page has no field for option ${key} = ${JSON.stringify(value)}`);
  }
}

/** After a run, the form's placeholders show the values the empty fields took. */
function showResolved(o: AmgOptions): void {
  for (const [key, input] of optionInputs) input.placeholder = o[key] === null ? 'default' : String(o[key]);
}

function setStatus(text: string, kind: 'ok' | 'error' = 'ok'): void {
  status.textContent = text;
  status.className = kind;
}

function setBusy(b: boolean): void {
  busy = b;
  runButton.disabled = b || image === undefined;
  downloadButton.disabled = b || coco === undefined;
  document.body.dataset.busy = b ? '1' : '0';
}


/** Decodes and shows an image (a picked or dropped file, or a fetched URL). */
async function openImage(blob: Blob, name: string): Promise<number> {
  const t0 = performance.now();
  const decoded = await decodeImageBlob(blob, name);
  const ms = performance.now() - t0;
  image?.decoded.bitmap.close();
  image = { name, decoded };
  coco = undefined;
  boxes = undefined;
  view.showPhoto(decoded.bitmap);
  setStatus(`${name}: ${decoded.rgb.width}×${decoded.rgb.height}`);
  setBusy(busy);
  return ms;
}

/** The model for the form's URL and backend, loaded when either changed. */
async function currentModel(): Promise<{ model: PageModel; loadMs: number }> {
  const url = new URL(modelUrl.value.trim(), document.baseURI).href;
  const backend = backendSelect.value as Backend;
  const want = url.endsWith('/') ? url : `${url}/`;
  if (model !== undefined && model.url === want && model.backend === backend) return { model, loadMs: 0 };
  if (model !== undefined) {
    const old = model;
    model = undefined;
    await old.loaded.adapter.release();
  }
  setStatus(`loading ${want} (${backend}) …`);
  const t0 = performance.now();
  model = await loadPageModel(want, backend);
  return { model, loadMs: performance.now() - t0 };
}

/** One run on the current image: the code path of the Generate button and of the test hook. */
async function generate(): Promise<Omit<HookResult, 'decodeMs'>> {
  if (image === undefined) throw new Error('no image: choose one first');
  const img = image;
  setBusy(true);
  progress.value = 0;
  try {
    const { model: m, loadMs } = await currentModel();
    const gen = new MaskGenerator(m.loaded.adapter, formOptions(), m.loaded);
    showResolved(gen.options);
    let reports = 0;
    let last: GenerateProgress | undefined;
    const onProgress = (p: GenerateProgress): void => {
      reports++;
      last = p;
      progress.max = Math.max(1, p.prompts);
      progress.value = p.promptsDone;
      setStatus(`${img.name}: crop ${Math.min(p.cropsDone + (p.done ? 0 : 1), p.crops)} of ${p.crops} · ${count(p.promptsDone)} of ${count(p.prompts)} prompts`);
    };
    const t0 = performance.now();
    // The generator is not released: that would release the model, which stays loaded for the next run.
    const records: MaskRecord[] = await gen.generate(img.decoded.rgb, { onProgress });
    const generateMs = performance.now() - t0;
    if (boxes !== undefined) boxes.results = [];
    view.setMasks(records);
    const result: PageResult = { fileName: img.name, width: img.decoded.rgb.width, height: img.decoded.rgb.height, records };
    const label = modelLabel.value.trim() || m.url;
    coco = { name: downloadName(img.name), text: pageCoco(result, { model: label, sha256: m.sha256, options: gen.options, date: noDate.checked ? null : new Date().toISOString() }) };
    const s = configureWasm();
    const where = m.backend === 'wasm' ? `wasm, ${s.threads} thread${s.threads === 1 ? '' : 's'}` : 'WebGPU';
    setStatus(`${img.name}: ${count(records.length)} masks in ${(generateMs / 1000).toFixed(1)} s (${where}${loadMs > 0 ? `; model loaded in ${(loadMs / 1000).toFixed(1)} s` : ''})`);
    document.body.dataset.runs = String(Number(document.body.dataset.runs ?? '0') + 1);
    return {
      coco: coco.text,
      masks: records.length,
      backend: m.backend,
      threads: m.backend === 'wasm' ? s.threads : 0,
      isolated: s.isolated,
      loadMs,
      generateMs,
      encoderMs: last?.encoderMs ?? 0,
      decoderMs: last?.decoderMs ?? 0,
      postprocessMs: last?.postprocessMs ?? 0,
      progressReports: reports,
      promptsDone: last?.promptsDone ?? 0,
      prompts: last?.prompts ?? 0,
    };
  } finally {
    setBusy(false);
  }
}

/**
 * The mask of a box dragged over the current image ([x, y, w, h] in its pixels), added to the box masks shown. The
 * image is encoded once per image and model; each box is then one decoder call.
 */
async function segmentBox(box: BoxXYWH): Promise<BoxResult> {
  if (image === undefined) throw new Error('no image: choose one first');
  const img = image;
  setBusy(true);
  try {
    const { model: m } = await currentModel();
    if (boxes === undefined || boxes.image !== img || boxes.model !== m) {
      // Not released when replaced: that would release the model, which stays loaded for the next run.
      const seg = new BoxSegmenter(m.loaded.adapter, {}, m.loaded);
      setStatus(`${img.name}: encoding for box prompts …`);
      boxes = { image: img, model: m, seg, crop: await seg.encode(img.decoded.rgb), results: [] };
    }
    const t0 = performance.now();
    const [mask] = await boxes.seg.segmentEncoded(boxes.crop, [box]);
    const result: BoxResult = { mask, box };
    boxes.results.push(result);
    view.setBoxMasks(boxes.results);
    setStatus(`${img.name}: box [${box.join(', ')}] → mask of ${count(mask.area)} px, predicted IoU ${mask.predictedIou.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
    document.body.dataset.boxes = String(boxes.results.length);
    return result;
  } finally {
    setBusy(false);
  }
}

async function segmentBoxFromUi(box: BoxXYWH): Promise<void> {
  if (busy) return;
  try {
    await segmentBox(box);
  } catch (err) {
    setStatus(errorMessage(err), 'error');
  }
}
view.onBox = (box) => void segmentBoxFromUi(box);

/** Runs and reports failures on the page (one line naming what failed), for the page's own buttons. */
async function generateFromUi(): Promise<void> {
  if (busy) return;
  try {
    await generate();
  } catch (err) {
    setStatus(errorMessage(err), 'error');
  }
}

async function openFromUi(file: File): Promise<void> {
  if (busy) return;
  try {
    await openImage(file, file.name);
  } catch (err) {
    setStatus(errorMessage(err), 'error');
    return;
  }
  await generateFromUi();
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void generateFromUi();
});
fileInput.addEventListener('change', () => {
  const f = fileInput.files?.[0];
  if (f) void openFromUi(f);
});
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  document.body.classList.add('dropping');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dropping'));
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dropping');
  const f = [...(e.dataTransfer?.files ?? [])].find((x) => x.type.startsWith('image/')) ?? e.dataTransfer?.files[0];
  if (f) void openFromUi(f);
});
downloadButton.addEventListener('click', () => {
  if (coco === undefined) return;
  const a = el('a', { href: URL.createObjectURL(new Blob([coco.text], { type: 'application/json' })), download: coco.name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});

/** Offers the model folders the server lists (npm run web); a plain static server has no such list. */
async function offerModels(): Promise<void> {
  try {
    const res = await fetch('models/index.json');
    if (!res.ok) return;
    const list = (await res.json()) as { models?: unknown };
    const urls = Array.isArray(list.models) ? list.models.filter((u): u is string => typeof u === 'string') : [];
    setChildren(modelList, ...urls.map((u) => el('option', { value: u })));
  } catch {
    // no list: the URL field still takes any folder
  }
}

async function start(): Promise<void> {
  const s = configureWasm();
  engineText.textContent = `wasm: ${s.threads} thread${s.threads === 1 ? '' : 's'}${s.isolated ? '' : ' (not cross-origin isolated)'}`;
  const gpu = await webgpuAvailable();
  const opt = backendSelect.querySelector<HTMLOptionElement>('option[value="webgpu"]');
  if (opt) {
    opt.disabled = !gpu;
    opt.textContent = gpu ? 'WebGPU' : 'WebGPU (not available)';
  }
  await offerModels();
  window.samAmg = {
    run: async (req: HookRequest): Promise<HookResult> => {
      if (busy) throw new Error('a run is in progress');
      modelUrl.value = req.model;
      backendSelect.value = req.backend ?? 'wasm';
      setFormOptions(req.options ?? {});
      modelLabel.value = req.modelLabel ?? '';
      noDate.checked = req.noDate === true;
      const res = await fetch(req.image);
      if (!res.ok) throw new Error(`${req.image}: HTTP ${res.status}`);
      const name = decodeURIComponent(new URL(req.image, document.baseURI).pathname.split('/').pop() ?? 'image');
      try {
        const decodeMs = await openImage(await res.blob(), name);
        return { ...(await generate()), decodeMs };
      } catch (err) {
        setStatus(errorMessage(err), 'error');
        throw err;
      }
    },
  };
  setBusy(false);
  document.body.dataset.ready = '1';
}

void start();
