import { formatNameAddr, formatUri, parseNameAddr } from '../message/index.js';
import type { NameAddr, SipUri } from '../message/index.js';

/** Where a dialog request goes: its Request-URI, its Route values, and the next-hop URI. */
export interface RoutedRequest {
  requestUri: SipUri;
  route: string[];
  /** RFC 3261 §8.1.2: the first Route (loose routing) or the Request-URI (strict routing / no routes). */
  nextHop: SipUri;
}

/**
 * A dialog's route set (RFC 3261 §12.1.1, §12.1.2, §12.2.1.1), built once from Record-Route and
 * never changed by target refreshes (§12.2: "the route set ... is not updated").
 */
export class RouteSet {
  private constructor(readonly routes: readonly NameAddr[]) {}

  static readonly EMPTY = new RouteSet([]);

  /**
   * §12.1.1 (UAS): "The route set MUST be set to the list of URIs in the Record-Route header
   * field from the request, taken in order". §12.1.2 (UAC): "The route set MUST be set to the list
   * of URIs in the Record-Route header field from the response, taken in reverse order".
   * Values that do not parse are dropped (a bad Record-Route must not bring down the call).
   */
  static fromRecordRoute(values: readonly string[], role: 'uac' | 'uas'): RouteSet {
    const routes: NameAddr[] = [];
    for (const v of values) {
      try {
        routes.push(parseNameAddr(v));
      } catch {
        // unparseable entry: skipped
      }
    }
    if (role === 'uac') routes.reverse();
    return routes.length === 0 ? RouteSet.EMPTY : new RouteSet(routes);
  }

  get isEmpty(): boolean {
    return this.routes.length === 0;
  }

  /**
   * §12.2.1.1: "If the route set is empty, the UAC MUST place the remote target URI into the
   * Request-URI. The UAC MUST NOT add a Route header field to the request." If the first URI of
   * the route set has `lr`, the Request-URI is the remote target and Route is the route set in
   * order. Otherwise (strict routing) "the UAC MUST place the first URI from the route set into
   * the Request-URI, stripping any parameters that are not allowed in a Request-URI", and Route
   * carries the rest of the route set followed by the remote target.
   */
  apply(remoteTarget: SipUri): RoutedRequest {
    const first = this.routes[0];
    if (first === undefined) return { requestUri: remoteTarget, route: [], nextHop: remoteTarget };
    if (first.uri.params.has('lr')) {
      return { requestUri: remoteTarget, route: this.routes.map((r) => formatNameAddr(r)), nextHop: first.uri };
    }
    // §19.1.1 Table 1: method and header components are not allowed in a Request-URI.
    const requestUri: SipUri = { ...first.uri, params: new Map(first.uri.params), headers: new Map() };
    requestUri.params.delete('method');
    const route = this.routes.slice(1).map((r) => formatNameAddr(r));
    route.push(`<${formatUri(remoteTarget)}>`);
    return { requestUri, route, nextHop: requestUri };
  }
}
