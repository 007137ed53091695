import { describe, expect, it } from 'vitest';
import { boxNms } from '../src/nms/nms.js';

describe('box NMS', () => {
  it('keeps survivors in descending score order', () => {
    const boxes = [0, 0, 10, 10, 100, 100, 110, 110, 50, 50, 60, 60];
    expect(boxNms(boxes, [0.5, 0.9, 0.7], 0.7)).toEqual([1, 2, 0]);
  });
  it('drops only when IoU is strictly greater than the threshold', () => {
    // IoU of [0,0,10,10] and [0,0,10,5] is exactly 0.5
    const boxes = [0, 0, 10, 10, 0, 0, 10, 5];
    expect(boxNms(boxes, [0.9, 0.8], 0.5)).toEqual([0, 1]);
    expect(boxNms(boxes, [0.9, 0.8], 0.49)).toEqual([0]);
  });
  it('breaks score ties by original index', () => {
    const boxes = [0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 10, 10, 40, 40, 50, 50];
    expect(boxNms(boxes, [0.5, 0.5, 0.5, 0.5], 0.7)).toEqual([0, 1, 3]);
    expect(boxNms(boxes, [0.5, 0.6, 0.5, 0.6], 0.7)).toEqual([1, 3, 0]);
  });
  it('uses float32 IoU arithmetic like torchvision', () => {
    // inter 3, union 10: float32(0.3) = 0.300000012 > 0.3, so torchvision drops the box where float64 would keep it
    expect(boxNms([0, 0, 10, 1, 7, 0, 10, 1], [0.9, 0.8], 0.3)).toEqual([0]);
    // inter 7, union 10: float32(0.7) = 0.699999988, not > 0.7; kept
    expect(boxNms([0, 0, 10, 1, 3, 0, 10, 1], [0.9, 0.8], 0.7)).toEqual([0, 1]);
    // inter 7, union 9 → 0.777… > 0.7; dropped
    expect(boxNms([0, 0, 9, 1, 2, 0, 9, 1], [0.9, 0.8], 0.7)).toEqual([0]);
  });
  it('handles empty input and degenerate boxes', () => {
    expect(boxNms([], [], 0.7)).toEqual([]);
    expect(boxNms([5, 5, 5, 5, 5, 5, 5, 5], [0.2, 0.1], 0.7)).toEqual([0, 1]);
  });
});
