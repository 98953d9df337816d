// A TypeScript plugin: jsbox strips the types when it builds the sandbox.
import { slugify, type Options } from './slug.ts';

interface Post {
  title: string;
  tags?: string[];
}

export default function slugs(posts: Post[]): string[] {
  const options: Options = { separator: '-' };
  return posts.map((post: Post) => slugify(post.title, options));
}
