/**
 * Hands each concurrent training one GPU of the worker's own. The gpu worker runs at most one
 * activity per GPU, so acquire() only comes back empty on a machine without GPUs.
 */
export class GpuPool {
  private readonly free: number[];

  constructor(devices: readonly number[]) {
    this.free = [...devices];
  }

  acquire(): number | undefined {
    return this.free.shift();
  }

  release(device: number | undefined): void {
    if (device !== undefined && !this.free.includes(device)) this.free.push(device);
  }
}
