/* placeholder so the server library is never empty */
int dossier_server_placeholder_;
