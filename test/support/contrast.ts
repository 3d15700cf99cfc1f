// WCAG 2 contrast of text against what is painted behind it, from the colours a browser computes
// (getComputedStyle gives rgb()/rgba(); a translucent background is laid over the ones beneath).

export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

/** A computed colour as Chromium reports it; anything else is refused, not guessed. */
export function parseColor(css: string): Rgba {
  const match =
    /^rgba?\((\d+(?:\.\d+)?)[,\s]+(\d+(?:\.\d+)?)[,\s]+(\d+(?:\.\d+)?)(?:\s*[,/]\s*(\d*(?:\.\d+)?))?\)$/.exec(
      css.trim(),
    );
  if (!match) throw new Error(`not an rgb() colour: ${css}`);
  const [, r, g, b, a] = match;
  return { r: Number(r), g: Number(g), b: Number(b), a: a === undefined ? 1 : Number(a) };
}

/** Paints `top` over an opaque `bottom`. */
function over(top: Rgba, bottom: Rgba): Rgba {
  const mix = (t: number, u: number) => t * top.a + u * (1 - top.a);
  return { r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a: 1 };
}

/**
 * The opaque colour seen behind an element: its background and its ancestors' (innermost first),
 * laid over each other down to the canvas.
 */
export function effectiveBackground(layers: string[], canvas = 'rgb(255, 255, 255)'): Rgba {
  return layers.map(parseColor).reduceRight((below, layer) => over(layer, below), parseColor(canvas));
}

function luminance({ r, g, b }: Rgba): number {
  const channel = (v: number) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

export function contrastRatio(text: Rgba, background: Rgba): number {
  const [light, dark] = [luminance(over(text, background)), luminance(background)].sort((x, y) => y - x) as [
    number,
    number,
  ];
  return (light + 0.05) / (dark + 0.05);
}
