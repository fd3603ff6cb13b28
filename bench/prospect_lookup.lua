-- sysbench script: MariaDB alone doing the query GetProspect runs (the same 22 columns of one
-- prospect by primary key, as a prepared statement), so the service can be compared with the
-- database doing only its part. Needs --tenant and --id-hex (the record bench/prep.py created).
sysbench.cmdline.options = {
  tenant = {"tenant id of the record", "bench"},
  ["id-hex"] = {"the record's id as 32 hex digits", ""},
}

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  stmt = con:prepare("SELECT id, kind, state, display_name, first_name, last_name, company_name," ..
    " vat_number, email, phone, website, street, postal_code, city, country_code, language, notes," ..
    " version, create_time, update_time, convert_time, converting_invoice" ..
    " FROM prospects WHERE tenant_id = ? AND id = UNHEX(?)")
  params = {stmt:bind_create(sysbench.sql.type.VARCHAR, 64),
            stmt:bind_create(sysbench.sql.type.VARCHAR, 32)}
  stmt:bind_param(unpack(params))
  params[1]:set(sysbench.opt.tenant)
  params[2]:set(sysbench.opt["id-hex"])
end

function event()
  local rs = stmt:execute()
  rs:free()
end

function thread_done()
  stmt:close()
  con:disconnect()
end
