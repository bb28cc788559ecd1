/**
 * The image type decided by the first bytes. Four fixed signatures are a dozen
 * lines; file-type would add a dependency (ESM-only, and its newest major no
 * longer runs on Node 20) that recognises hundreds of formats we must refuse anyway.
 */
export type ImageType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';

/** Enough bytes to tell all four apart (WebP needs "RIFF", a length, then "WEBP"). */
export const SNIFF_BYTES = 12;

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffImageType(head: Uint8Array): ImageType | undefined {
  const at = (offset: number, bytes: readonly number[]): boolean =>
    head.length >= offset + bytes.length && bytes.every((b, i) => head[offset + i] === b);
  const ascii = (offset: number, text: string): boolean => at(offset, [...text].map((c) => c.charCodeAt(0)));

  if (at(0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (at(0, PNG)) return 'image/png';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'image/gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp';
  return undefined;
}
