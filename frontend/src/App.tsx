import { Navigate, Route, Routes } from "react-router";

import { RequireAuth } from "./auth/AuthContext";
import { Layout } from "./components/Layout";
import { AuditPage } from "./pages/audit/AuditPage";
import { CaseDetailPage } from "./pages/cases/CaseDetailPage";
import { CaseListPage } from "./pages/cases/CaseListPage";
import { GroupDetailPage } from "./pages/groups/GroupDetailPage";
import { GroupListPage } from "./pages/groups/GroupListPage";
import { InboxPage } from "./pages/inbox/InboxPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { SeedExamplePage } from "./pages/seed/SeedExamplePage";
import { SignInPage } from "./pages/SignInPage";
import { TransferDetailPage } from "./pages/transfers/TransferDetailPage";
import { TransferListPage } from "./pages/transfers/TransferListPage";
import { TransferNewPage } from "./pages/transfers/TransferNewPage";
import { UsersPage } from "./pages/users/UsersPage";
import { WorkflowEditPage } from "./pages/workflows/WorkflowEditPage";
import { WorkflowListPage } from "./pages/workflows/WorkflowListPage";

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/inbox" replace />} />
        <Route path="inbox" element={<InboxPage />} />
        <Route path="transfers" element={<TransferListPage />} />
        <Route path="transfers/new" element={<TransferNewPage />} />
        <Route path="transfers/:id" element={<TransferDetailPage />} />
        <Route path="workflows" element={<WorkflowListPage />} />
        <Route path="workflows/new" element={<WorkflowEditPage />} />
        <Route path="workflows/:id" element={<WorkflowEditPage />} />
        <Route path="groups" element={<GroupListPage />} />
        <Route path="groups/:id" element={<GroupDetailPage />} />
        <Route path="users" element={<UsersPage />} />
        <Route path="seed-example" element={<SeedExamplePage />} />
        <Route path="cases" element={<CaseListPage />} />
        <Route path="cases/:id" element={<CaseDetailPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
