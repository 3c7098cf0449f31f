import { Navigate, Route, Routes } from "react-router";
import { AcceptInvitationPage } from "../pages/AcceptInvitationPage";
import { ApprovalsPage } from "../pages/ApprovalsPage";
import { AdminLayout } from "../pages/admin/AdminLayout";
import { AuditLogPage } from "../pages/admin/AuditLogPage";
import { InvitationsPage } from "../pages/admin/InvitationsPage";
import { MembersPage } from "../pages/admin/MembersPage";
import { OrganizationPage } from "../pages/admin/OrganizationPage";
import { LoginPage } from "../pages/LoginPage";
import { NotFoundPage } from "../pages/NotFoundPage";
import { SessionDetailPage } from "../pages/SessionDetailPage";
import { SessionsPage } from "../pages/SessionsPage";
import { TokensPage } from "../pages/TokensPage";
import { UsagePage } from "../pages/UsagePage";
import { AppShell } from "./AppShell";
import { RequireAdmin, RequireAuth, RequireOrg } from "./guards";

/** The route table. Everything but /login needs a signed-in user. */
export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        element={
          <RequireAuth>
            <AppShell />
          </RequireAuth>
        }
      >
        <Route path="/invitations/accept" element={<AcceptInvitationPage />} />
        <Route index element={<Navigate to="/sessions" replace />} />
        <Route path="/sessions" element={<RequireOrg><SessionsPage /></RequireOrg>} />
        <Route path="/sessions/:sessionId" element={<RequireOrg><SessionDetailPage /></RequireOrg>} />
        <Route path="/approvals" element={<RequireOrg><ApprovalsPage /></RequireOrg>} />
        <Route path="/usage" element={<RequireOrg><UsagePage /></RequireOrg>} />
        <Route path="/tokens" element={<RequireOrg><TokensPage /></RequireOrg>} />
        <Route
          path="/admin"
          element={
            <RequireOrg>
              <RequireAdmin>
                <AdminLayout />
              </RequireAdmin>
            </RequireOrg>
          }
        >
          <Route index element={<Navigate to="members" replace />} />
          <Route path="members" element={<MembersPage />} />
          <Route path="invitations" element={<InvitationsPage />} />
          <Route path="audit" element={<AuditLogPage />} />
          <Route path="organization" element={<OrganizationPage />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
