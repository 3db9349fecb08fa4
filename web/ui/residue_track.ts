/**
 * The per-residue attribution track: the sequence in rows of 50 residues, each residue a cell with its
 * letter and a bar coloured by its IG attribution (red raises the predicted class's probability, blue
 * lowers it; intensity and bar height scale with |attribution| / the largest one). Drawn on a canvas
 * so a test can screenshot it; hovering a cell names the residue and its value.
 */
const PER_ROW = 50;
const CELL = 14;
const ROW_H = 58;
const BAR_H = 18;

/** Draws the track into `canvas` and returns the scale (largest |attribution|). */
export function drawResidueTrack(canvas: HTMLCanvasElement, sequence: string, attributions: ArrayLike<number>): number {
  const n = attributions.length;
  const rows = Math.max(1, Math.ceil(n / PER_ROW));
  const dpr = Math.max(1, Math.round(globalThis.devicePixelRatio || 1));
  const width = 40 + PER_ROW * CELL;
  const height = rows * ROW_H + 6;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d');
  if (!g) throw new Error('the browser gives no 2D canvas context for the attribution track');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(attributions[i]!));
  const norm = scale > 0 ? scale : 1;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / PER_ROW);
    const col = i % PER_ROW;
    const x = 40 + col * CELL;
    const y = 4 + row * ROW_H;
    if (col === 0) {
      g.fillStyle = '#666';
      g.font = '10px sans-serif';
      g.textAlign = 'right';
      g.fillText(String(i + 1), 34, y + 8);
      g.textAlign = 'center';
    }
    const a = attributions[i]! / norm; // in [-1, 1]
    g.fillStyle = '#222';
    g.font = '11px monospace';
    g.fillText(sequence[i] ?? '?', x + CELL / 2, y + 8);
    g.fillStyle = colour(a);
    g.fillRect(x + 1, y + 17, CELL - 2, 12);
    // Bars grow up (positive) or down (negative) from the midline.
    const mid = y + 17 + 12 + 2 + BAR_H / 2;
    const h = Math.abs(a) * (BAR_H / 2);
    g.fillRect(x + 2, a >= 0 ? mid - h : mid, CELL - 4, Math.max(h, 0.5));
    g.fillStyle = '#ccc';
    g.fillRect(x, mid, CELL, 0.5);
  }
  canvas.onmousemove = (ev) => {
    const r = canvas.getBoundingClientRect();
    const col = Math.floor((ev.clientX - r.left - 40) / CELL);
    const row = Math.floor((ev.clientY - r.top - 4) / ROW_H);
    const i = row * PER_ROW + col;
    canvas.title = col >= 0 && col < PER_ROW && i >= 0 && i < n ? `residue ${i + 1} ${sequence[i]}: ${attributions[i]!.toExponential(3)}` : '';
  };
  return scale;
}

/** Diverging colour for a in [-1, 1]: blue - white - red. */
export function colour(a: number): string {
  const t = Math.min(1, Math.abs(a));
  const fade = (c: number) => Math.round(255 + (c - 255) * t);
  return a >= 0 ? `rgb(${fade(200)}, ${fade(30)}, ${fade(30)})` : `rgb(${fade(30)}, ${fade(80)}, ${fade(200)})`;
}
