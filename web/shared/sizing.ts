/**
 * How large an image's frame is: on the screen (as large as the column allows without growing taller than the
 * window, at the image's aspect ratio) and in canvas pixels (one per image pixel, or one per s×s block for images
 * whose canvas would be too large to hold: the rasteriser draws at that scale).
 */
import { frameSize, scaleToFit, type Placement } from '../../src/draw/frame.js';

/** The longest canvas side the pages draw masks at; larger images are drawn downscaled by a whole factor. */
export const MAX_FRAME_SIDE = 4096;

/** An image's mask canvas: the whole W×H image at `scale` image pixels per canvas pixel. */
export interface FramePlan extends Placement {
  imageWidth: number;
  imageHeight: number;
}

/** The canvas for a W×H image: full size up to `maxSide`, else downscaled by the smallest whole factor that fits. */
export function planFrame(imageWidth: number, imageHeight: number, maxSide = MAX_FRAME_SIDE): FramePlan {
  const scale = scaleToFit(imageWidth, imageHeight, maxSide);
  const { width, height } = frameSize(imageWidth, imageHeight, scale);
  return { imageWidth, imageHeight, width, height, x0: 0, y0: 0, scale };
}

/**
 * Sizes the frame element on the screen for a W×H image: as wide as its column, but no taller than the window less
 * `reservePx` (the page's bars above it).
 */
export function fitFrame(frame: HTMLElement, imageWidth: number, imageHeight: number, reservePx: number): void {
  const ratio = imageHeight > 0 ? imageWidth / imageHeight : 1;
  frame.style.aspectRatio = `${imageWidth} / ${imageHeight}`;
  frame.style.width = `min(100%, calc((100vh - ${reservePx}px) * ${ratio}))`;
}
