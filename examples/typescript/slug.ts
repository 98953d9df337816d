export interface Options {
  separator: string;
  maxLength?: number;
}

export function slugify(title: string, { separator, maxLength = 40 }: Options): string {
  const words: string[] = title.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  if (words.length === 0) throw new RangeError(`nothing to slugify in ${JSON.stringify(title)}`);
  return words.join(separator).slice(0, maxLength);
}
