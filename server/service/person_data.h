/* The pure parts of a person's data (service/person_data.c), shared with its unit tests: the
 * person's values and how copies of them are found in free text and stored bytes, and the
 * redacted forms of the copies kept in merge records. */
#ifndef PS_SERVICE_PERSON_DATA_H
#define PS_SERVICE_PERSON_DATA_H

#include <stddef.h>

#include "core/arena.h"
#include "prospects/v1/resources.pb-c.h"

#define PS_PERSON_VALUE_MIN 4     /* shorter values are not searched for: they match too much */
#define PS_PERSON_VALUES_MAX 64   /* values kept of one person */

/* A person's values (name, e-mail, phone, ...) as found in its record and its copies. Strings are
 * borrowed. */
typedef struct ps_person_values {
  int n;
  const char *v[PS_PERSON_VALUES_MAX];
} ps_person_values_t;

/* Adds s unless NULL, shorter than PS_PERSON_VALUE_MIN bytes, already there, or the list is full. */
void ps_person_value_add(ps_person_values_t *v, const char *s);

/* 1 when needle occurs in hay[0..n), ASCII letters compared without case (stored responses are
 * packed protobuf: their strings are there as bytes). 0 for an empty needle. */
int ps_person_contains(const unsigned char *hay, size_t n, const char *needle);

/* 1 when text (NULL: none) holds one of the values. */
int ps_person_names(const ps_person_values_t *v, const char *text);

/* A copy of a merge snapshot's record with only what is no personal data: name, kind, state,
 * times, converting invoice, etag. NULL when out of memory. */
Prospects__V1__Prospect *ps_person_blank_prospect(ps_arena_t *a, const Prospects__V1__Prospect *p);

/* The same for a contact person: name, times, etag. */
Prospects__V1__ContactPerson *ps_person_blank_contact(ps_arena_t *a,
                                                      const Prospects__V1__ContactPerson *c);

/* 1 when the message still holds personal fields (what the blank copies leave out). */
int ps_person_prospect_has_data(const Prospects__V1__Prospect *p);
int ps_person_contact_has_data(const Prospects__V1__ContactPerson *c);
int ps_person_snapshot_has_data(const Prospects__V1__PartySnapshot *p);

#endif
