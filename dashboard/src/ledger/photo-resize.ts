/**
 * Shrinks a camera photo on the tablet before it is queued or sent: the longest side to `maxSide`
 * pixels, JPEG. A 12-megapixel photo becomes ~200–400 kB, which the venue Wi-Fi and the server's
 * size limit both accept.
 */
export async function resizePhoto(file: Blob, maxSide = 1600, quality = 0.8): Promise<Blob> {
  const bitmap = await createImageBitmap(file);
  try {
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser cannot draw images: the photo cannot be resized');
    ctx.drawImage(bitmap, 0, 0, w, h);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the photo could not be encoded'))), 'image/jpeg', quality));
  } finally {
    bitmap.close();
  }
}
