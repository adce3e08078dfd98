/* placeholder so the plan library is never empty */
int dossier_plan_placeholder_;
