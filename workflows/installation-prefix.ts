/**
 * The installation part of a cpu queue name (`<prefix>cpu` → `<prefix>`), for workflow ids that
 * must be unique per installation when several share a namespace (MLCYCLE_QUEUE_PREFIX).
 */
export function installationPrefix(cpuQueue: string): string {
  return cpuQueue.endsWith('cpu') ? cpuQueue.slice(0, -'cpu'.length) : `${cpuQueue}-`;
}
