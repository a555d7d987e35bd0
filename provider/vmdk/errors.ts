/** A disk image whose bytes are wrong: bad magic, impossible header values, corrupt or truncated data. */
export class ImageFormatError extends Error {
  override name = "ImageFormatError";
}

/** The input ended before the image did. */
export class TruncatedImageError extends ImageFormatError {
  override name = "TruncatedImageError";
}

/** A well-formed image in a format that cannot be imported as-is; `message` says how to convert it. */
export class UnsupportedImageError extends Error {
  override name = "UnsupportedImageError";
  constructor(
    readonly format: string,
    message: string,
  ) {
    super(message);
  }
}
