/* Limits of BatchCreateProspects (service/import.c), shared with the method table's wire caps. */
#ifndef PS_SERVICE_IMPORT_H
#define PS_SERVICE_IMPORT_H

#define PS_IMPORT_ROWS_MAX 500     /* rows of one request */
#define PS_IMPORT_CONTACTS_MAX 50  /* contact persons of one row */

#endif
