/**
 * A first-in, first-out queue on an array. Taking from the front moves an index instead of
 * shifting the array (`Array.prototype.shift` copies what is left), and the part already taken
 * is dropped once it is most of the array, so a queue that never empties under load neither
 * grows without bound nor copies on every take.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  /** The oldest, or undefined when it is empty. */
  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const x = this.items[this.head++];
    this.dropTaken();
    return x;
  }

  /** Up to `n` of the oldest, oldest first. */
  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    this.dropTaken();
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private dropTaken(): void {
    if (this.head === this.items.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
