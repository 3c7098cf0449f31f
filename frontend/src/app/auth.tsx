/**
 * Who is signed in, their organisations and the selected one, and the API client bound to them.
 */
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useMemo,
  useState,
} from "react";
import { type ApiClient, type ApiError, asApiError, createApiClient, unwrap } from "../api/client";
import type { Me, Organization, Role } from "../api/types";
import { storedOrgId, storeOrgId } from "../lib/selectedOrg";

export type AuthStatus = "loading" | "anonymous" | "ready" | "error";

export interface AuthState {
  status: AuthStatus;
  me: Me | null;
  /** The selected organisation (null when the user belongs to none). */
  org: Organization | null;
  /** The user's role in the selected organisation. */
  role: Role | null;
  /** Set when loading the profile failed for a reason other than being signed out. */
  error: ApiError | null;
  /** True when a signed-in session ended (expired or signed out elsewhere). */
  expired: boolean;
  selectOrg: (orgId: string) => void;
  /** Re-reads `/me` (after signing in, joining or creating an organisation). */
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);
const ApiContext = createContext<ApiClient | null>(null);

function pickOrg(me: Me, preferred: string | null): Organization | null {
  return me.organizations.find((o) => o.id === preferred) ?? me.organizations[0] ?? null;
}

/**
 * The client and the values its requests carry. Lives outside React state: the client reads
 * them when a request is sent, and the provider keeps them current.
 */
class ApiSession {
  #orgId: string | null = null;
  #csrfToken: string | null = null;
  #signedIn = false;
  #onUnauthenticated: (wasSignedIn: boolean) => void = () => undefined;
  readonly client: ApiClient = createApiClient({
    orgId: () => this.#orgId,
    csrfToken: () => this.#csrfToken,
    onUnauthenticated: () => {
      const was = this.#signedIn;
      this.#signedIn = false;
      this.#onUnauthenticated(was);
    },
  });

  get orgId(): string | null {
    return this.#orgId;
  }

  update(me: Me | null, orgId: string | null): void {
    this.#signedIn = me !== null;
    this.#csrfToken = me?.csrf_token ?? null;
    this.#orgId = orgId;
  }

  selectOrg(orgId: string): void {
    this.#orgId = orgId;
  }

  /** From now on a 401 is not an expired session (signing out on purpose). */
  signingOut(): void {
    this.#signedIn = false;
  }

  onUnauthenticated(handler: (wasSignedIn: boolean) => void): void {
    this.#onUnauthenticated = handler;
  }
}

type MeResult = { ok: true; me: Me } | { ok: false; error: ApiError };

async function loadMe(client: ApiClient): Promise<MeResult> {
  try {
    return { ok: true, me: await unwrap(client.GET("/api/v1/me")) };
  } catch (e) {
    return { ok: false, error: asApiError(e) };
  }
}

export interface AuthProviderProps {
  children: ReactNode;
  /** Starts from this profile instead of loading `/me` (tests). */
  initialMe?: Me;
}

export function AuthProvider({ children, initialMe }: AuthProviderProps) {
  const [session] = useState(() => new ApiSession());
  const [me, setMe] = useState<Me | null>(initialMe ?? null);
  const [orgId, setOrgId] = useState<string | null>(() =>
    initialMe ? (pickOrg(initialMe, storedOrgId())?.id ?? null) : null,
  );
  const [status, setStatus] = useState<AuthStatus>(initialMe ? "ready" : "loading");
  const [error, setError] = useState<ApiError | null>(null);
  const [expired, setExpired] = useState(false);

  // Requests read the organisation and CSRF token from the session. A layout effect runs before
  // any child's (passive) effect, so the pages' first requests already carry them.
  useLayoutEffect(() => {
    session.update(me, orgId);
  }, [session, me, orgId]);

  const applyResult = useCallback(
    (result: MeResult) => {
      if (result.ok) {
        const org = pickOrg(result.me, session.orgId ?? storedOrgId());
        session.update(result.me, org?.id ?? null);
        setMe(result.me);
        setOrgId(org?.id ?? null);
        setStatus("ready");
        setError(null);
        setExpired(false);
      } else if (result.error.status === 401) {
        setMe(null);
        setStatus("anonymous");
      } else {
        setError(result.error);
        setStatus("error");
      }
    },
    [session],
  );

  useEffect(() => {
    session.onUnauthenticated((wasSignedIn) => {
      if (wasSignedIn) setExpired(true);
      setMe(null);
      setStatus("anonymous");
    });
  }, [session]);

  useEffect(() => {
    if (initialMe) return;
    let live = true;
    void loadMe(session.client).then((result) => {
      if (live) applyResult(result);
    });
    return () => {
      live = false;
    };
  }, [initialMe, session, applyResult]);

  const refresh = useCallback(async () => {
    applyResult(await loadMe(session.client));
  }, [session, applyResult]);

  const selectOrg = useCallback(
    (id: string) => {
      session.selectOrg(id);
      storeOrgId(id);
      setOrgId(id);
    },
    [session],
  );

  const signOut = useCallback(async () => {
    session.signingOut();
    try {
      await unwrap(session.client.POST("/api/v1/auth/logout"));
    } catch (e) {
      // Already signed out is fine; anything else is reported but still signs out locally.
      const err = asApiError(e);
      if (err.status !== 401) console.warn("logout failed", err);
    }
    session.update(null, null);
    setMe(null);
    setExpired(false);
    setStatus("anonymous");
  }, [session]);

  const org = useMemo(() => me?.organizations.find((o) => o.id === orgId) ?? null, [me, orgId]);

  const value = useMemo<AuthState>(
    () => ({ status, me, org, role: org?.role ?? null, error, expired, selectOrg, refresh, signOut }),
    [status, me, org, error, expired, selectOrg, refresh, signOut],
  );

  return (
    <ApiContext.Provider value={session.client}>
      <AuthContext.Provider value={value}>{children}</AuthContext.Provider>
    </ApiContext.Provider>
  );
}

export function useAuth(): AuthState {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside <AuthProvider>");
  return value;
}

/** The API client, sending the selected organisation and the CSRF token. */
export function useApi(): ApiClient {
  const value = useContext(ApiContext);
  if (!value) throw new Error("useApi outside <AuthProvider>");
  return value;
}

/** The selected organisation; only for pages rendered inside <RequireOrg>. */
export function useOrg(): Organization {
  const { org } = useAuth();
  if (!org) throw new Error("useOrg without a selected organisation");
  return org;
}
