import { useState, useEffect } from 'react';

interface WorkflowAssignment {
  id: number;
  workflow_template_name: string;
  execution_order: number;
}

export function WorkflowAssignmentManager({ securityGroupId }: { securityGroupId: number }) {
  const [assignments, setAssignments] = useState<WorkflowAssignment[]>([]);

  useEffect(() => {
    fetch(`/api/approvals/workflow-assignments/?security_group=${securityGroupId}`)
      .then(res => res.json())
      .then(data => setAssignments(data.assignments));
  }, [securityGroupId]);

  return (
    <div>
      <h3>Assigned Workflows (Sequential Execution)</h3>
      <ol>
        {assignments.map(assignment => (
          <li key={assignment.id}>
            {assignment.workflow_template_name}
          </li>
        ))}
      </ol>
    </div>
  );
}
