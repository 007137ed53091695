/**
 * The import graph of src/: every `import … from`, `export … from`, `import type`, side-effect `import '…'` and
 * dynamic `import('…')` of src/**\/*.ts, read with the TypeScript parser (so imports shown in comments do not count).
 * Three rules, each failing with the files named:
 *
 * 1. No cycle (a circle of files importing each other, type-only imports included).
 * 2. Dependencies point down: a file may import from its own folder or from a folder of a lower layer (LAYERS),
 *    never from a higher layer or from another folder of its own layer.
 * 3. The browser entry `sam-amg/core` (src/core/index.ts) pulls in, through everything it imports, no Node
 *    built-in, no sharp, no onnxruntime-node and nothing of src/cli.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(new URL('../src', import.meta.url).pathname);

/**
 * The layers, lowest first; a file's layer is its top folder under src/ (or its name, for files directly in src/).
 *
 *   base      shared types (RgbImage, boxes, Rle, MaskRecord), errors (errorMessage, asError), VERSION: imports nothing
 *   rle, nms, crop, image   the maths (browser-safe), over base only
 *   fs        Node file-system helpers (atomic writes, errno wording, path containment), over base only
 *   mask      per-candidate mask evaluation, over rle
 *   draw      the one mask rasteriser (fill, outline, box, point, label, hit map into RGBA frames), over rle
 *   model     ONNX models: adapters, layouts, runtime seam, graph optimiser, over image
 *   polygon   masks as polygons (trace, simplify, the COCO polygon rule, COCO/YOLO/GeoJSON geometry), over rle and mask
 *   amg       the generator and its options, over the maths, mask and model
 *   prompt    the box-prompted segmenter and the detection-file reader, beside amg (neither imports the other)
 *   output    writers and readers of the formats, sinks, the run info block; node: the Node side of the core
 *             (sharp decode, model folders, onnxruntime-node, workers, the hub). Independent of each other.
 *   compare   matching two outputs
 *   run       the batch: inputs, journal, lock, output plan, session
 *   report    the static HTML report
 *   cli       the commands
 *   core      the browser entry `sam-amg/core` (index.ts only: re-exports)
 *   index.ts  the Node entry `sam-amg`: the core's API plus the Node side
 */
const LAYERS: readonly (readonly string[])[] = [
  ['base'],
  ['rle', 'nms', 'crop', 'image', 'fs'],
  ['mask', 'draw'],
  ['model', 'polygon'],
  ['amg', 'prompt'],
  ['output', 'node'],
  ['compare'],
  ['run'],
  ['report'],
  ['cli'],
  ['core'],
  ['index.ts'],
];

/** Packages the browser entry must never reach. */
const NODE_ONLY_PACKAGES = ['sharp', 'onnxruntime-node'];

interface Arrow {
  from: string;
  /** A file under src/ (relative, POSIX) for relative imports, else the bare specifier. */
  to: string;
  local: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every module specifier of a file: static imports and re-exports (type-only too) and dynamic import('…'). */
function specifiers(file: string, text = readFileSync(file, 'utf8')): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) found.push(arg.text);
      else found.push('<dynamic import with a computed specifier>');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function buildGraph(): Map<string, Arrow[]> {
  const graph = new Map<string, Arrow[]>();
  for (const abs of sourceFiles(SRC)) {
    const from = path.relative(SRC, abs).split(path.sep).join('/');
    const arrows = specifiers(abs).map((spec): Arrow => {
      if (!spec.startsWith('.')) return { from, to: spec, local: false };
      const target = path.resolve(path.dirname(abs), spec).replace(/\.js$/u, '.ts');
      return { from, to: path.relative(SRC, target).split(path.sep).join('/'), local: true };
    });
    graph.set(from, arrows);
  }
  return graph;
}

const graph = buildGraph();

/** The layer of a file: its top folder under src/, or its own name for files directly in src/. */
function unitOf(file: string): string {
  return file.split('/')[0];
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.includes(unit));
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function cycles(g: Map<string, Arrow[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const a of g.get(v) ?? []) {
      if (!a.local || !g.has(a.to)) continue;
      if (!index.has(a.to)) {
        connect(a.to);
        low.set(v, Math.min(low.get(v) as number, low.get(a.to) as number));
      } else if (onStack.has(a.to)) {
        low.set(v, Math.min(low.get(v) as number, index.get(a.to) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      const selfLoop = (g.get(v) ?? []).some((a) => a.local && a.to === v);
      if (scc.length > 1 || selfLoop) found.push(scc.sort());
    }
  };
  for (const v of [...g.keys()].sort()) if (!index.has(v)) connect(v);
  return found;
}

/** One circle through the files of a component, for the message: a → b → … → a. */
function circleThrough(scc: string[], g: Map<string, Arrow[]>): string {
  const inside = new Set(scc);
  const start = scc[0];
  // Breadth-first from start back to start, inside the component.
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const a of g.get(v) ?? []) {
      if (!a.local || !inside.has(a.to)) continue;
      if (a.to === start) {
        const path: string[] = [start];
        for (let w: string | undefined = v; w !== undefined && w !== start; w = prev.get(w)) path.unshift(w);
        path.unshift(start);
        return path.join(' → ');
      }
      if (!prev.has(a.to)) {
        prev.set(a.to, v);
        queue.push(a.to);
      }
    }
  }
  return scc.join(', ');
}

describe('the import graph of src/', () => {
  it('reads static, type-only, side-effect, re-export and dynamic imports, and not imports shown in comments', () => {
    const text = [
      "/** ```ts",
      " * import * as ort from 'in-a-comment';",
      " * ``` */",
      "import a from './a.js';",
      "import type { B } from '../b.js';",
      "import './side-effect.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "export type { E } from './e.js';",
      "const f = await import('./f.js');",
      "type G = import('./g.js').G;",
      "const h = 'import x from \"./not-an-import.js\"';",
    ].join('\n');
    expect(specifiers('x.ts', text)).toEqual(['./a.js', '../b.js', './side-effect.js', './c.js', './d.js', './e.js', './f.js', './g.js']);
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('index.ts')?.map((a) => a.to)).toContain('core/index.ts');
    expect(graph.get('core/index.ts')?.map((a) => a.to)).toContain('base/types.ts');
    expect(graph.get('node/decode.ts')?.map((a) => a.to)).toContain('sharp');
  });

  it('has a layer for every folder of src/', () => {
    const units = [...new Set([...graph.keys()].map(unitOf))].sort();
    expect(units.filter((u) => layerOf(u) < 0)).toEqual([]);
  });

  it('has no cycle', () => {
    expect(cycles(graph).map((scc) => circleThrough(scc, graph))).toEqual([]);
  });

  it('points down: no import from a higher layer, or from another folder of the same layer', () => {
    const wrong: string[] = [];
    for (const arrows of graph.values()) {
      for (const a of arrows) {
        if (!a.local) continue;
        const from = unitOf(a.from);
        const to = unitOf(a.to);
        if (from === to) continue;
        if (layerOf(to) >= layerOf(from)) wrong.push(`${a.from} → ${a.to} (${from} is layer ${layerOf(from)}, ${to} is layer ${layerOf(to)})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('keeps Node, sharp, onnxruntime-node and the CLI out of the browser entry src/core/index.ts', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const seen = new Set<string>();
    const via = new Map<string, string>();
    const queue = ['core/index.ts'];
    const bad: string[] = [];
    const chain = (file: string): string => {
      const parts = [file];
      for (let w = via.get(file); w !== undefined; w = via.get(w)) parts.unshift(w);
      return parts.join(' → ');
    };
    seen.add('core/index.ts');
    while (queue.length > 0) {
      const file = queue.shift() as string;
      for (const a of graph.get(file) ?? []) {
        if (a.local) {
          if (unitOf(a.to) === 'cli') bad.push(`${chain(file)} → ${a.to}`);
          if (!seen.has(a.to)) {
            seen.add(a.to);
            via.set(a.to, file);
            queue.push(a.to);
          }
          continue;
        }
        const pkg = a.to.startsWith('@') ? a.to.split('/').slice(0, 2).join('/') : a.to.split('/')[0];
        if (builtins.has(a.to) || a.to.startsWith('node:') || NODE_ONLY_PACKAGES.includes(pkg)) bad.push(`${chain(file)} → ${a.to}`);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });
});
