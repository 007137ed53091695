/**
 * The core's model loader over fetch (what the browser uses), run in Node against a loopback HTTP server: the same
 * layout, contract checks and records as loading the folder from disk; a missing file or a server error is a
 * ModelError naming the URL.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaskGenerator as CoreMaskGenerator } from '../src/amg/generator.js';
import { ModelError } from '../src/model/errors.js';
import { loadModelFromUrl, UrlModelFiles } from '../src/model/url-files.js';
import { toCoco } from '../src/rle/rle.js';
import { MaskGenerator } from '../src/node/mask-generator.js';
import { nodeRuntime } from '../src/node/session.js';
import { decodeImage } from '../src/node/decode.js';

const ROOT = path.resolve(new URL('..', import.meta.url).pathname);
const MODELS = path.join(ROOT, 'fixtures', 'models');
let server: http.Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(url);
    if (url.startsWith('/broken/')) {
      res.writeHead(500).end();
      return;
    }
    const file = path.join(MODELS, path.normalize(url).replace(/^(\.\.[/\\])+/u, ''));
    if (!file.startsWith(MODELS) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const summary = (records: Awaited<ReturnType<CoreMaskGenerator['generate']>>): string[] =>
  records.map((r) => `${r.area} ${r.bbox.join(',')} ${r.predictedIou} ${r.stabilityScore} ${toCoco(r.segmentation).counts}`);

describe('loadModelFromUrl', () => {
  for (const name of ['sam1-tiny', 'sam2-samexporter']) {
    it(`${name}: the same layout and the same records as the folder on disk`, async () => {
      const image = await decodeImage(path.join(ROOT, 'fixtures', 'scenes', 'shapes-640x480.png'));
      const options = { pointsPerSide: 8 };
      const fromUrl = await CoreMaskGenerator.fromModel(loadModelFromUrl(`${base}/${name}`, nodeRuntime({ threads: 1 })), options);
      const fromDisk = await MaskGenerator.load(path.join(MODELS, name), options, { threads: 1 });
      try {
        expect(fromUrl.model?.layout).toBe(fromDisk.model?.layout);
        expect(fromUrl.model?.files.decoder).toMatch(new RegExp(`^${base}/${name}/`, 'u'));
        const a = summary(await fromUrl.generate(image));
        const b = summary(await fromDisk.generate(image));
        expect(a.length).toBeGreaterThan(0);
        expect(a).toEqual(b);
      } finally {
        await fromUrl.release();
        await fromDisk.release();
      }
    }, 120_000);
  }

  it('fetches each file once, the decoder included although the graph optimiser reads it again', async () => {
    requests.length = 0;
    const model = await loadModelFromUrl(`${base}/sam1-tiny`, nodeRuntime({ threads: 1 }));
    try {
      expect(model.decoder.optimised).toBe(true);
      const onnx = requests.filter((r) => r.endsWith('.onnx')).sort();
      expect(onnx).toEqual(['/sam1-tiny/onnx/prompt_encoder_mask_decoder.onnx', '/sam1-tiny/onnx/vision_encoder.onnx']);
    } finally {
      await model.adapter.release();
    }
  }, 60_000);

  it('keeps a body until model() hands it over, not after', async () => {
    const fetched: string[] = [];
    const files = new UrlModelFiles('http://x/m', async (u) => {
      fetched.push(u);
      return { ok: true, status: 200, arrayBuffer: async () => new Uint8Array([1, 2, 3]).buffer };
    });
    expect(await files.exists('a.onnx')).toBe(true);
    expect([...(await files.readBytes('a.onnx'))]).toEqual([1, 2, 3]);
    expect([...(await files.model('a.onnx'))]).toEqual([1, 2, 3]);
    expect(fetched).toEqual(['http://x/m/a.onnx']);
    await files.readBytes('a.onnx');
    expect(fetched).toEqual(['http://x/m/a.onnx', 'http://x/m/a.onnx']);
  });

  it('names the URL of a missing file, and refuses a server error instead of calling the file missing', async () => {
    await expect(loadModelFromUrl(`${base}/no-such-model`, nodeRuntime({ threads: 1 }))).rejects.toThrow(
      new ModelError(`${base}/no-such-model/config.json: missing (a model folder needs config.json, preprocessor_config.json and onnx/)`),
    );
    await expect(loadModelFromUrl(`${base}/broken`, nodeRuntime({ threads: 1 }))).rejects.toThrow(/broken\/onnx\/prompt_encoder_mask_decoder\.onnx: HTTP 500/u);
  });
});
