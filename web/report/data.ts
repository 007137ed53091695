/**
 * Loads the report's data scripts. Pages opened from file:// may not fetch() their own files, but they may run
 * scripts next to them: each data file calls the global `samReport` (src/report/data.ts), and the promise of the
 * script that was added resolves with what it passed.
 */
import { REPORT_GLOBAL, reportPaths, type ReportImageData, type ReportIndex } from '../../src/report/data.js';

interface ReportGlobal {
  index(data: ReportIndex): void;
  image(n: number, data: ReportImageData): void;
}

declare global {
  interface Window {
    [REPORT_GLOBAL]: ReportGlobal;
  }
}

let indexWaiter: ((data: ReportIndex) => void) | undefined;
const imageWaiters = new Map<number, (data: ReportImageData) => void>();
const images = new Map<number, Promise<ReportImageData>>();

window[REPORT_GLOBAL] = {
  index: (data) => indexWaiter?.(data),
  image: (n, data) => imageWaiters.get(n)?.(data),
};

/** Adds a script tag for `src`; rejects when it cannot be loaded or does not call back. */
function loadScript<T>(src: string, register: (resolve: (data: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    register((data) => {
      done = true;
      resolve(data);
    });
    const s = document.createElement('script');
    s.src = src;
    s.async = true;
    s.onload = () => {
      if (!done) reject(new Error(`${src} did not deliver its data`));
    };
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

/** The index (data/index.js), loaded once. */
export function loadIndex(): Promise<ReportIndex> {
  return loadScript<ReportIndex>(reportPaths.index, (resolve) => {
    indexWaiter = resolve;
  });
}

/** Image n's data (data/images/<n>.js), loaded on first use and kept. */
export function loadImage(n: number): Promise<ReportImageData> {
  let p = images.get(n);
  if (p === undefined) {
    p = loadScript<ReportImageData>(reportPaths.image(n), (resolve) => {
      imageWaiters.set(n, (data) => {
        imageWaiters.delete(n);
        resolve(data);
      });
    });
    // A failed load may be retried (e.g. after the file is restored).
    p.catch(() => images.delete(n));
    images.set(n, p);
  }
  return p;
}
