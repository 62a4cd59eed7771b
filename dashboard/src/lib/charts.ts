/**
 * Charts through Chart.js: well kept, accessible through our own table views, drawn on a canvas
 * that prints. Only the parts used are registered. On screen the night palette; for print the
 * charts are drawn again in black on white.
 */
import {
  BarController, BarElement, CategoryScale, Chart, type ChartConfiguration, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);

const SCREEN = { text: '#eef2f6', grid: '#2c3542' };
const PRINT = { text: '#000000', grid: '#bbbbbb' };
const live = new Set<Chart>();

function paint(chart: Chart, c: typeof SCREEN): void {
  chart.options.color = c.text;
  const legend = chart.options.plugins?.legend;
  if (legend?.labels) legend.labels.color = c.text;
  for (const scale of Object.values(chart.options.scales ?? {})) {
    if (!scale) continue;
    if (scale.ticks) scale.ticks.color = c.text;
    if (scale.grid) scale.grid.color = c.grid;
  }
  chart.update('none');
}

if (typeof window !== 'undefined') {
  const toPrint = () => { for (const c of live) { paint(c, PRINT); c.resize(); } };
  const toScreen = () => { for (const c of live) { paint(c, SCREEN); c.resize(); } };
  window.addEventListener('beforeprint', toPrint);
  window.addEventListener('afterprint', toScreen);
  window.matchMedia('print').addEventListener('change', (e) => (e.matches ? toPrint() : toScreen()));
}

/** Draws a chart on the canvas; returns a function that removes it. */
export function drawChart(canvas: HTMLCanvasElement, config: ChartConfiguration): () => void {
  const chart = new Chart(canvas, {
    ...config,
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      devicePixelRatio: 2,
      ...config.options,
      scales: Object.fromEntries(Object.entries(config.options?.scales ?? {}).map(([k, v]) => [k, { ...v, ticks: { ...v?.ticks, color: SCREEN.text }, grid: { ...(v as { grid?: object })?.grid, color: SCREEN.grid } }])),
      plugins: { ...config.options?.plugins, legend: { labels: { color: SCREEN.text }, ...config.options?.plugins?.legend } },
    },
  } as ChartConfiguration);
  live.add(chart);
  return () => { live.delete(chart); chart.destroy(); };
}

/** Colours that tell series apart on the dark screen and on paper, with patterns of dashes for lines. */
export const SERIES_COLOURS = ['#4dabf7', '#ffa94d', '#69db7c', '#f783ac', '#ced4da'];
export const TARGET_COLOURS = ['#ff6b6b', '#e599f7'];
