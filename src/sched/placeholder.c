/* placeholder so the sched library is never empty */
int dossier_sched_placeholder_;
