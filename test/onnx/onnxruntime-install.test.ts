import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';

/**
 * onnxruntime-node installs with its install script skipped (.npmrc), so only the CPU binaries that
 * ship inside the npm package are there: this proves they load and run a model.
 */
describe('onnxruntime-node CPU binaries', () => {
  it('load a model and run it', async () => {
    // test/fixtures/onnx/double.onnx: y = 2 * x, input x float32 [N, 2] (made with onnx.helper, IR 8, opset 13).
    const session = await ort.InferenceSession.create(path.join(__dirname, '../fixtures/onnx/double.onnx'));
    expect(session.inputNames).toEqual(['x']);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4.5]), [2, 2]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([2, 4, 6, 9]);
    await session.release();
  });
});
