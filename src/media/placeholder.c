/* placeholder so the media library is never empty */
int dossier_media_placeholder_;
