/**
 * The Kubernetes Indexed Job manifest (deploy/k8s/sam-amg-indexed-job.yaml), parsed with a maintained YAML library,
 * and then run the way the Job controller runs it: `completions` processes of the container's command, process i
 * with JOB_COMPLETION_INDEX=i and nothing else telling it its shard; their merge must equal the single run.
 */
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli, cliProcess, FAST, makeImages, REPO, TINY_MODEL } from './helpers/scale.js';

interface Container {
  image: string;
  command?: string[];
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts: { name: string; mountPath: string }[];
}
interface JobManifest {
  apiVersion: string;
  kind: string;
  spec: {
    completionMode: string;
    completions: number;
    parallelism: number;
    template: {
      spec: {
        restartPolicy: string;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        containers: Container[];
        volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
      };
    };
  };
}

const MANIFEST = path.join(REPO, 'deploy/k8s/sam-amg-indexed-job.yaml');
let job: JobManifest;
let container: Container;
let dir: string;

beforeAll(async () => {
  job = parse(await fsp.readFile(MANIFEST, 'utf8')) as JobManifest;
  container = job.spec.template.spec.containers[0];
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sam-amg-k8s-'));
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('Kubernetes Indexed Job manifest', () => {
  it('has the fields sam-amg relies on', async () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    expect(Number.isInteger(job.spec.completions) && job.spec.completions >= 2).toBe(true);
    expect(job.spec.parallelism).toBeGreaterThanOrEqual(1);
    expect(job.spec.parallelism).toBeLessThanOrEqual(job.spec.completions);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.template.spec.containers).toHaveLength(1);
    // The shard count is the Job's completions; the index only comes from JOB_COMPLETION_INDEX.
    const args = container.args;
    expect(args[args.indexOf('--shard-count') + 1]).toBe(String(job.spec.completions));
    expect(args).not.toContain('--shard');
    const out = args[args.indexOf('--out') + 1];
    expect(out).toContain('$(JOB_COMPLETION_INDEX)');
    const env = container.env?.find((e) => e.name === 'JOB_COMPLETION_INDEX');
    expect(env?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.annotations['batch.kubernetes.io/job-completion-index']");
    // One volume for inputs and outputs; every path argument lives on it.
    const mount = container.volumeMounts[0];
    expect(job.spec.template.spec.volumes.map((v) => v.name)).toContain(mount.name);
    const model = args[args.indexOf('--model') + 1];
    for (const p of [args[0], model, out]) expect(p.startsWith(`${mount.mountPath}/`)).toBe(true);
    // The image is the repository's Dockerfile: Node 20 slim, production install, non-root, the CLI as entrypoint.
    expect(container.image).toMatch(/sam-amg/u);
    expect(container.command).toBeUndefined();
    const dockerfile = await fsp.readFile(path.join(REPO, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20[-\w.]*slim/mu);
    expect(dockerfile).toMatch(/npm ci --omit=dev/u);
    expect(dockerfile).toMatch(/^USER node$/mu);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/sam-amg\.js"\]$/mu);
    expect(job.spec.template.spec.securityContext?.runAsNonRoot).toBe(true);
  });

  it('runs like the Job controller: completions processes with JOB_COMPLETION_INDEX, merge equals the single run', async () => {
    const mount = container.volumeMounts[0].mountPath;
    const volume = path.join(dir, 'volume');
    const args0 = container.args;
    const inputs = args0[0].replace(mount, volume);
    const model = args0[args0.indexOf('--model') + 1].replace(mount, volume);
    await makeImages(inputs, 7);
    await fsp.mkdir(path.dirname(model), { recursive: true });
    await fsp.symlink(TINY_MODEL, model, 'dir');
    await fsp.mkdir(path.dirname(args0[args0.indexOf('--out') + 1].replace(mount, volume)), { recursive: true });
    // The container's environment: no Slurm variables, no shard count, only what the Job controller sets.
    const baseEnv: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(SLURM_|SAM_AMG_|JOB_COMPLETION_INDEX$)/u.test(k)) baseEnv[k] = v;
    const n = job.spec.completions;
    const runs: Promise<{ code: number; stderr: string }>[] = [];
    const outs: string[] = [];
    for (let i = 0; i < n; i++) {
      // Kubernetes expands $(VAR) in args from the container's env; paths move from the volume to the test folder.
      const args = args0.map((a) => a.replaceAll('$(JOB_COMPLETION_INDEX)', String(i)).replace(mount, volume));
      outs.push(args[args.indexOf('--out') + 1]);
      // Test speed only: a 4×4 prompt grid, a pinned date.
      runs.push(cliProcess([...args, ...FAST], { ...baseEnv, JOB_COMPLETION_INDEX: String(i) }));
    }
    const results = await Promise.all(runs);
    results.forEach((r) => expect(r.code, r.stderr).toBe(0));
    const single = path.join(dir, 'single.json');
    expect((await cli([inputs, '--model', model, ...FAST, '--shard', 'none', '--out', single])).code).toBe(0);
    const merged = path.join(dir, 'merged.json');
    const m = await cli(['merge', merged, ...outs]);
    expect(m.code, m.stderr).toBe(0);
    expect((await fsp.readFile(merged)).equals(await fsp.readFile(single))).toBe(true);
    expect((await cli(['compare', single, merged])).code).toBe(0);
    // Each process took its own shard.
    for (let i = 0; i < n; i++) expect(JSON.parse(await fsp.readFile(outs[i], 'utf8')).info.shard).toMatchObject({ index: i, count: n, total: 7 });
  });
});
