import { AppError } from './errors.ts';

/** The image type a body really is, from its first bytes; null when it is not a JPEG, PNG or WebP. */
export function sniffImage(body: Buffer): 'image/jpeg' | 'image/png' | 'image/webp' | null {
  if (body.length >= 3 && body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff) return 'image/jpeg';
  if (body.length >= 8 && body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (body.length >= 12 && body.subarray(0, 4).toString('latin1') === 'RIFF' && body.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return null;
}

/** Refuses what is not a photo, or too big a photo, with a message that says what to do. */
export function checkPhoto(body: Buffer, maxBytes: number): 'image/jpeg' | 'image/png' | 'image/webp' {
  if (body.length === 0) throw new AppError('bad_request', { en: 'the photo is empty: take the photo again', zh: '照片为空：请重新拍照' });
  if (body.length > maxBytes) {
    throw new AppError('payload_too_large', {
      en: `the photo is ${body.length} bytes; the limit is ${maxBytes} bytes: let the tablet resize it (or take it at a lower resolution) and send it again`,
      zh: `照片大小为 ${body.length} 字节，上限为 ${maxBytes} 字节：请让平板电脑压缩照片（或以较低分辨率拍摄）后重新发送`,
    });
  }
  const type = sniffImage(body);
  if (!type) throw new AppError('unsupported_media_type', { en: 'the upload is not a JPEG, PNG or WebP image: attach a photo taken with the camera', zh: '上传的文件不是 JPEG、PNG 或 WebP 图片：请附上用相机拍摄的照片' });
  return type;
}
