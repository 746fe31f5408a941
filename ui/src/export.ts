import type { Api } from './api.js';
import { queryWithFilter, type AuditFilter } from './filters.js';

export type ExportFormat = 'ndjson' | 'csv';

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Fetches the export with the current filters and saves it through a temporary object URL. */
export async function downloadExport(api: Api, format: ExportFormat, filter: AuditFilter): Promise<{ filename: string; size: string }> {
  const query = queryWithFilter(`?format=${format}`, filter);
  const { blob, filename } = await api.download(`/api/v1/${encodeURIComponent(api.tenant)}/audit-logs/export${query}`);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has started the download by now; the object URL only holds memory.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { filename, size: humanSize(blob.size) };
}
