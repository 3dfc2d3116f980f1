import type { SipDialog } from './dialog.js';
import { dialogId } from './dialog.js';

/**
 * The user agent's dialogs by ID (RFC 3261 §12: Call-ID + local tag + remote tag). A request's
 * dialog is found with local tag = its To tag and remote tag = its From tag (§12.2.2).
 */
export class DialogSet {
  private readonly byId = new Map<string, SipDialog>();

  get size(): number {
    return this.byId.size;
  }

  add(dialog: SipDialog): void {
    this.byId.set(dialog.id, dialog);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  get(id: string): SipDialog | undefined {
    return this.byId.get(id);
  }

  /** The dialog an incoming request (or ACK) belongs to. */
  forRequest(callId: string, toTag: string, fromTag: string): SipDialog | undefined {
    return this.byId.get(dialogId(callId, toTag, fromTag));
  }

  /** The dialog a response to our request belongs to (local tag = From tag, remote = To tag). */
  forResponse(callId: string, fromTag: string, toTag: string): SipDialog | undefined {
    return this.byId.get(dialogId(callId, fromTag, toTag));
  }

  /** RFC 3891 §3: the dialog a Replaces header names (call-id;to-tag=..;from-tag=..), from the recipient's view. */
  forReplaces(value: string): SipDialog | undefined {
    const [callId, ...params] = value.split(';').map((s) => s.trim());
    if (callId === undefined) return undefined;
    let toTag: string | undefined;
    let fromTag: string | undefined;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.toLowerCase() === 'to-tag') toTag = v;
      else if (k?.toLowerCase() === 'from-tag') fromTag = v;
    }
    if (toTag === undefined || fromTag === undefined) return undefined;
    // "to-tag" is our local tag in the replaced dialog, "from-tag" the remote one.
    return this.byId.get(dialogId(callId, toTag, fromTag));
  }

  values(): IterableIterator<SipDialog> {
    return this.byId.values();
  }
}
