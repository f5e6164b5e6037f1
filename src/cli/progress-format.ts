/** The text of one progress line: pure, so what a person sees is tested without a terminal. */

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `0 B`, `512 B`, `1.5 KiB`, `45.2 MiB`, `1.02 GiB`: binary units, as du -h and skopeo print sizes. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value.toFixed(value < 10 && unit >= 3 ? 2 : 1)} ${units[unit]}`;
}

/** `0:07`, `12:30`, `1:02:03`; `--:--` when unknown (no rate yet, or stalled). */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const whole = Math.ceil(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export interface LineValues {
  label: string;
  done: number;
  total: number;
  /** Bytes per second; undefined until known. */
  rate: number | undefined;
}

/** The bar takes what the line leaves, between these widths; below the least it is left out. */
const barWidths = { least: 10, most: 30 };

/**
 * `a.tar  [=========-----------]  45% 54.1 MiB / 120.0 MiB  12.3 MiB/s  ETA 0:06`, fitted to `width`
 * columns so a line never wraps: the bar shrinks, then goes, then the label is cut short (from the
 * left: the end of a path or a reference names it best).
 */
export function formatProgressLine(values: LineValues, width: number): string {
  const { done, total, rate } = values;
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const left = rate !== undefined && rate > 0 ? Math.max(0, total - done) / rate : undefined;
  const speed = rate === undefined ? '--' : `${formatBytes(rate)}/s`;
  const numbers = `${String(Math.floor(fraction * 100)).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)}  ${speed}  ETA ${formatDuration(done >= total ? 0 : left)}`;
  // One column spare: a line that fills the last column makes some terminals wrap.
  const room = Math.max(0, width - 1);
  const cells = Math.min(barWidths.most, room - values.label.length - numbers.length - 5);
  if (cells >= barWidths.least) {
    const filled = Math.round(fraction * cells);
    return `${values.label}  [${'='.repeat(filled)}${'-'.repeat(cells - filled)}] ${numbers}`;
  }
  const line = `${values.label}  ${numbers}`;
  if (line.length <= room) return line;
  const labelRoom = room - numbers.length - 2;
  if (labelRoom >= 4) return `…${values.label.slice(values.label.length - (labelRoom - 1))}  ${numbers}`;
  return numbers.slice(0, room);
}
