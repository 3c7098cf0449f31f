import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { AppRoutes } from "./app/App";
import { AuthProvider } from "./app/auth";
import { applyStoredTheme } from "./app/theme";
import { stashInvitationToken } from "./pages/AcceptInvitationPage";
import { captureInstallPrompt } from "./pwa/install";
import { registerServiceWorker } from "./pwa/register";
import "./styles.css";

applyStoredTheme();
stashInvitationToken();
// Before the first render: the browser may offer installation right away.
captureInstallPrompt();
registerServiceWorker();

const root = document.getElementById("root");
if (!root) throw new Error("missing #root");

createRoot(root).render(
  <StrictMode>
    <BrowserRouter>
      <AuthProvider>
        <AppRoutes />
      </AuthProvider>
    </BrowserRouter>
  </StrictMode>,
);
